/**
 * The meter public key registry: the keys an operator has registered for a
 * station's meters (from the meter's type approval or its commissioning
 * record). The monitor's signedMeter detector verifies OCMF datasets against
 * the registered key instead of trusting the key the station sends along with
 * its data — a compromised station can sign forged readings with a key of its
 * own, but not with the meter's.
 *
 * Keys are per station and meter serial (OCMF `MS`); serial `*` is the
 * station's key for any meter it has. Small table, read whole at start and
 * written through, so the detector's lookup is synchronous.
 */
import type { Guard, RoutePlugin } from '../api/route-plugin.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { meterErrors } from './errors.js';
import { errors, listOf, noContent, ref } from '../api/schemas.js';
import type { Database } from '../store/index.js';
import { createMetersStore } from './store.js';
import { decodePublicKey, keyFingerprint, ocmfText, parseOcmf, verifyOcmf } from '../monitor/index.js';

export { meterErrors };
export { meterMigrations } from './store.js';

export interface MeterKey {
  stationId: string;
  /** OCMF meter serial (MS), or `*` for any meter of the station. */
  meterSerial: string;
  /** Base64 DER SubjectPublicKeyInfo, whatever form it was given in. */
  publicKey: string;
  /** e.g. `ec/prime256v1`. */
  keyType: string;
  updatedAt: string;
}

export const ANY_METER = '*';
const SERIAL = /^[\x21-\x7e]{1,64}$/;
const MAX_KEYS = 100_000;

/**
 * Reads a public key given as PEM, hex DER or base64 DER (the forms OCPP and
 * OCMF tools use). Only public keys: a private key would be accepted by
 * createPublicKey (it derives the public half), and has no place here.
 * OCMF signs with ECDSA, so only EC keys are useful.
 */
export function parseMeterKey(input: unknown): { spki: string; keyType: string } {
  if (typeof input !== 'string') throw meterErrors.METER_KEY_INVALID('publicKey must be a string (PEM, hex or base64 DER)');
  const s = input.trim();
  if (s.length === 0 || s.length > 4096) throw meterErrors.METER_KEY_INVALID('publicKey must be 1–4096 characters');
  let key: KeyObject;
  try {
    if (s.startsWith('-----BEGIN')) {
      if (!/^-----BEGIN PUBLIC KEY-----/.test(s)) throw meterErrors.METER_KEY_INVALID('Only a PUBLIC KEY (SubjectPublicKeyInfo) PEM is accepted; never send a private key');
      key = createPublicKey(s);
    } else {
      const der = /^([0-9a-fA-F]{2})+$/.test(s) ? Buffer.from(s, 'hex') : /^[A-Za-z0-9+/]+={0,2}$/.test(s) ? Buffer.from(s, 'base64') : undefined;
      if (!der) throw meterErrors.METER_KEY_INVALID('publicKey is neither PEM, hex nor base64');
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'METER_KEY_INVALID') throw err;
    throw meterErrors.METER_KEY_INVALID(`publicKey cannot be read: ${String((err as Error).message).slice(0, 120)}`);
  }
  if (key.type !== 'public') throw meterErrors.METER_KEY_INVALID('publicKey must be a public key');
  if (key.asymmetricKeyType !== 'ec') throw meterErrors.METER_KEY_INVALID(`OCMF meters sign with ECDSA; a ${key.asymmetricKeyType} key cannot verify their data`);
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
  return { spki: key.export({ format: 'der', type: 'spki' }).toString('base64'), keyType: `ec/${curve}` };
}

export async function createMeterKeys(database: Database) {
  const store = createMetersStore(database);
  const keys = new Map<string, MeterKey>();
  const k = (stationId: string, serial: string) => `${stationId}\u0000${serial}`;
  for (const r of await store.all()) {
    keys.set(k(r.station_id, r.meter_serial), { stationId: r.station_id, meterSerial: r.meter_serial, publicKey: r.public_key, keyType: r.key_type, updatedAt: r.updated_at });
  }

  return {
    /** For the signedMeter detector: the meter's own key, else the station's key for any meter. */
    lookup(stationId: string, meterSerial: string): string | undefined {
      return (keys.get(k(stationId, meterSerial)) ?? keys.get(k(stationId, ANY_METER)))?.publicKey;
    },
    list(stationId: string): MeterKey[] {
      return [...keys.values()].filter((x) => x.stationId === stationId).map((x) => ({ ...x }));
    },
    async put(stationId: string, meterSerial: string | undefined, publicKey: unknown): Promise<MeterKey> {
      const serial = meterSerial ?? ANY_METER;
      if (!SERIAL.test(serial)) throw meterErrors.METER_KEY_INVALID('meterSerial must be 1–64 printable characters');
      const { spki, keyType } = parseMeterKey(publicKey);
      if (!keys.has(k(stationId, serial)) && keys.size >= MAX_KEYS) throw meterErrors.METER_KEY_INVALID(`At most ${MAX_KEYS} meter keys`);
      const row = { station_id: stationId, meter_serial: serial, public_key: spki, key_type: keyType, updated_at: new Date().toISOString() };
      await store.put(row);
      const key: MeterKey = { stationId, meterSerial: serial, publicKey: spki, keyType, updatedAt: row.updated_at };
      keys.set(k(stationId, serial), key);
      return { ...key };
    },
    /** Removes one meter's key, or every key of the station when no serial is given; the number removed. */
    async remove(stationId: string, meterSerial?: string): Promise<number> {
      await store.remove(stationId, meterSerial);
      let n = 0;
      for (const [key, v] of keys) if (v.stationId === stationId && (meterSerial === undefined || v.meterSerial === meterSerial)) n += +keys.delete(key);
      if (n === 0) throw meterErrors.METER_KEY_NOT_FOUND(`No meter key for station ${stationId}${meterSerial ? ` and meter ${meterSerial}` : ''}`);
      return n;
    },
  };
}

export type MeterKeys = Awaited<ReturnType<typeof createMeterKeys>>;

/** What a settlement needs to know about one signed meter value. */
export interface SignedValueCheck {
  encoding: 'OCMF' | 'other';
  meterSerial?: string;
  /** OCMF pagination (PG), e.g. T12. */
  pagination?: string;
  /** Whose key it was checked with: the registry's (trusted), the one the station sent (only consistent), or none. */
  keySource: 'registry' | 'station' | 'none';
  keyFingerprint?: string;
  result: 'verified' | 'failed' | 'noKey' | 'malformed' | 'unsupported';
  reason?: string;
}

/**
 * Checks one signed meter value as a settlement would: OCMF only (other
 * formats are reported `unsupported`), against the registered key of the
 * meter, else the key the station sent along.
 */
export async function checkSignedMeterValue(keys: Pick<MeterKeys, 'lookup'>, stationId: string, signed: { signedMeterData?: unknown; encodingMethod?: unknown; publicKey?: unknown }): Promise<SignedValueCheck> {
  const data = typeof signed.signedMeterData === 'string' ? signed.signedMeterData : '';
  const raw = ocmfText(data);
  if (!raw) {
    const claimsOcmf = typeof signed.encodingMethod === 'string' && signed.encodingMethod.toUpperCase() === 'OCMF';
    return claimsOcmf ? { encoding: 'OCMF', keySource: 'none', result: 'malformed', reason: 'not an OCMF string' } : { encoding: 'other', keySource: 'none', result: 'unsupported' };
  }
  const parsed = parseOcmf(raw);
  if (!parsed.ok) return { encoding: 'OCMF', keySource: 'none', result: 'malformed', reason: parsed.reason };
  const { MS: meterSerial, PG: pagination } = parsed.payload;
  const registered = keys.lookup(stationId, meterSerial);
  const sent = typeof signed.publicKey === 'string' ? signed.publicKey : undefined;
  const key = decodePublicKey(registered ?? sent ?? '');
  const keySource = !key ? 'none' : registered ? 'registry' : 'station';
  if (!key) return { encoding: 'OCMF', meterSerial, pagination, keySource, result: 'noKey' };
  const r = await verifyOcmf(raw, key);
  return { encoding: 'OCMF', meterSerial, pagination, keySource, keyFingerprint: keyFingerprint(key), result: r.verified ? 'verified' : 'failed', reason: r.reason };
}

const stationParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 48 } } } as const;
const serial = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' } as const;

/**
 * PUT  /api/v1/stations/:id/meter-keys {publicKey, meterSerial?}  (operator) registers or replaces a key;
 * GET  /api/v1/stations/:id/meter-keys                           (auditor) lists them;
 * DELETE /api/v1/stations/:id/meter-keys?meterSerial=            (operator) removes one, or all of the station's.
 */
export function meterKeyRoutes(deps: { keys: MeterKeys; stationExists(id: string): Promise<boolean> }): RoutePlugin {
  return (app: FastifyInstance, guard: Guard) => {
    const known = async (id: string) => {
      if (!(await deps.stationExists(id))) throw meterErrors.METER_KEY_NOT_FOUND(`No station with id ${id}`);
    };
    app.get('/api/v1/stations/:id/meter-keys', {
      preHandler: guard.require('auditor'),
      schema: { tags: ['meters'], summary: 'List a station\'s meter keys', params: stationParams, response: { 200: listOf('MeterKey'), ...errors(404) } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      await known(id);
      return deps.keys.list(id);
    });
    app.put('/api/v1/stations/:id/meter-keys', {
      preHandler: guard.require('operator'),
      schema: {
        tags: ['meters'],
        summary: 'Register or replace the public key of a station\'s signing meter (without meterSerial: of any of its meters)',
        params: stationParams,
        body: { type: 'object', required: ['publicKey'], additionalProperties: false, properties: { publicKey: { type: 'string', minLength: 1, maxLength: 4096 }, meterSerial: serial } },
        response: { 200: ref('MeterKey'), ...errors(404) },
      },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const body = req.body as { publicKey: string; meterSerial?: string };
      await known(id);
      req.auditDetails = { meterSerial: body.meterSerial ?? ANY_METER };
      return deps.keys.put(id, body.meterSerial, body.publicKey);
    });
    app.delete('/api/v1/stations/:id/meter-keys', {
      preHandler: guard.require('operator'),
      schema: {
        tags: ['meters'],
        summary: 'Remove a meter key, or (without meterSerial) all of the station\'s',
        params: stationParams,
        querystring: { type: 'object', additionalProperties: false, properties: { meterSerial: serial } },
        response: { ...noContent, ...errors(404) },
      },
    }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const { meterSerial } = req.query as { meterSerial?: string };
      req.auditDetails = { meterSerial: meterSerial ?? 'all' };
      await deps.keys.remove(id, meterSerial);
      return reply.status(204).send();
    });
  };
}
