/**
 * TLS settings for the OCPP/HTTPS listener (OCPP 2.0.1 Part 2 §A00.FR.3xx):
 * TLS 1.2 and 1.3 only; the four TLS 1.2 suites a CSMS must offer — ECDHE-ECDSA
 * with AES-128/256-GCM, and RSA with AES-128/256-GCM — plus their ECDHE-RSA
 * forward-secret equivalents, nothing weaker. Both an ECDSA and an RSA server
 * certificate are served so either kind of client finds its suite. A client
 * certificate is requested but judged after the handshake, per station.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
].join(':');

export function tlsOptions(creds: { key: string[]; cert: string[] }, clientCas: string[]): TlsOptions & SecureContextOptions {
  return {
    key: creds.key,
    cert: creds.cert,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
    ca: clientCas,
  };
}
