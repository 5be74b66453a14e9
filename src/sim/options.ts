/** Checks SimStationOptions once, in the factory, so a bad option fails early with SIM_BAD_OPTIONS. */
import { simErrors } from './errors.js';
import type { SimStationOptions } from './types.js';

const VERSIONS = new Set(['1.6', '2.0.1', '2.1']);

function fail(what: string): never {
  throw simErrors.SIM_BAD_OPTIONS(`invalid simulator option: ${what}`);
}

function optionalString(value: unknown, name: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) fail(`${name} must be a string of 1..${max} characters`);
}

function optionalNumber(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) fail(`${name} must be a number in ${min}..${max}`);
}

export function checkStationOptions(opts: SimStationOptions): void {
  if (opts === null || typeof opts !== 'object') fail('options must be an object');
  let url: URL;
  try {
    url = new URL(String(opts.url));
  } catch {
    fail('url must be a ws:// or wss:// URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail('url must be a ws:// or wss:// URL');
  if (url.username || url.password) fail('url must not carry credentials; use password');
  // OCPP 2.0.1 Part 4 §3.1: the identity is at most 48 characters.
  if (typeof opts.id !== 'string' || opts.id.length === 0 || opts.id.length > 48) fail('id must be a string of 1..48 characters');
  if (!VERSIONS.has(opts.ocppVersion)) fail("ocppVersion must be '1.6', '2.0.1' or '2.1'");
  if (![1, 2, 3].includes(opts.securityProfile)) fail('securityProfile must be 1, 2 or 3');
  if (opts.securityProfile > 1 && url.protocol !== 'wss:') fail(`security profile ${opts.securityProfile} needs a wss:// url`);
  if (opts.password !== undefined && typeof opts.password !== 'string') fail('password must be a string');
  const v16 = opts.ocppVersion === '1.6';
  optionalString(opts.vendor, 'vendor', v16 ? 20 : 50);
  optionalString(opts.model, 'model', 20);
  optionalString(opts.firmwareVersion, 'firmwareVersion', 50);
  optionalString(opts.serialNumber, 'serialNumber', 25);
  optionalString(opts.organization, 'organization', 64);
  optionalString(opts.localAddress, 'localAddress', 64);
  optionalNumber(opts.connectors, 'connectors', 1, 64);
  if (opts.connectors !== undefined && !Number.isInteger(opts.connectors)) fail('connectors must be an integer');
  optionalNumber(opts.maxPowerW, 'maxPowerW', 1, 1e7);
  optionalNumber(opts.meterIntervalMs, 'meterIntervalMs', 0, 2 ** 31 - 1);
  optionalNumber(opts.heartbeatIntervalMs, 'heartbeatIntervalMs', 0, 2 ** 31 - 1);
  optionalNumber(opts.pingIntervalMs, 'pingIntervalMs', 0, 2 ** 31 - 1);
  optionalNumber(opts.callTimeoutMs, 'callTimeoutMs', 1, 2 ** 31 - 1);
  if (opts.now !== undefined && typeof opts.now !== 'function') fail('now must be a function');
  if (opts.tls !== undefined) {
    if (opts.tls === null || typeof opts.tls !== 'object') fail('tls must be an object');
    const { ca, cert, key } = opts.tls;
    if (ca !== undefined && typeof ca !== 'string' && !(Array.isArray(ca) && ca.every((c) => typeof c === 'string'))) fail('tls.ca must be a PEM string or an array of them');
    if ((cert === undefined) !== (key === undefined)) fail('tls.cert and tls.key go together');
  }
}
