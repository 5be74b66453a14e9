/**
 * Which strings may name a station, shared by the transport and the registry.
 * OCPP 2.0.1 Part 2 §A00: the identity is an identifierString of at most 48
 * characters; a colon is not allowed because it separates the Basic-auth
 * username from the password.
 */
const IDENTITY = /^[A-Za-z0-9*\-_=+|@.]{1,48}$/;

export function isValidStationId(id: string): boolean {
  // "." and ".." are path segments that URL normalisation removes: a station so named could never connect.
  return IDENTITY.test(id) && id !== '.' && id !== '..';
}
