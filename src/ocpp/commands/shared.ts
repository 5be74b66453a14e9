/** Payload pieces that 1.6 and 2.x spell alike. */
import type { CertificateHashData, SignedFirmwareRequest } from '../../model/commands.js';

export function firmwareOf(r: SignedFirmwareRequest): Record<string, unknown> {
  return {
    location: r.location,
    retrieveDateTime: r.retrieveDateTime,
    ...(r.installDateTime !== undefined ? { installDateTime: r.installDateTime } : {}),
    signingCertificate: r.signingCertificate,
    signature: r.signature,
  };
}

export function hashDataOf(h: CertificateHashData): Record<string, unknown> {
  return { hashAlgorithm: h.hashAlgorithm, issuerNameHash: h.issuerNameHash, issuerKeyHash: h.issuerKeyHash, serialNumber: h.serialNumber };
}

/** The answer as an object (a station's CALLRESULT is one; anything else reads as no answer). */
export function answerOf(res: unknown): Record<string, unknown> & { status?: string } {
  return res && typeof res === 'object' ? (res as Record<string, unknown> & { status?: string }) : {};
}
