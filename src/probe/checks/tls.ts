/** The target's TLS: versions, cipher suites, its certificate, and client-certificate enforcement. */
import tls from 'node:tls';
import { webcrypto, createPrivateKey, X509Certificate } from 'node:crypto';
import * as x509 from '../../trust/x509.js';
import { isIp, type ProbeContext, type ServerTlsFacts } from '../context.js';
import { expectRefused, fail, inconclusive, pass, skip, type Check, type Verdict } from './check.js';

const TLS_GUIDANCE = 'NIST SP 800-52 Rev. 2 §3.1 and §3.3.1 (TLS 1.2 or later; forward-secret AEAD cipher suites); OCPP 2.0.1 Part 2 §A00 (A00.FR.313: TLS 1.2 or higher; A00.FR.318: required cipher suites)';
const CERT_GUIDANCE = 'OCPP 2.0.1 Part 2 §A00 and §A02 (the station verifies the CSMS certificate, which must be valid and name the CSMS host); RFC 6125; NISTIR 8473';

function handshake(ctx: ProbeContext, o: tls.ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({ host: ctx.host, port: ctx.port, servername: isIp(ctx.host) ? undefined : ctx.host, rejectUnauthorized: false, timeout: ctx.opts.timeoutMs, ...o });
    } catch (err) {
      // The local OpenSSL cannot offer this suite or version at all.
      return resolve({ ok: false, error: `not testable with this OpenSSL: ${(err as Error).message}` });
    }
    const done = (r: { ok: true; protocol: string | null; cipher: string } | { ok: false; error: string }) => {
      socket.destroy();
      resolve(r);
    };
    socket.once('timeout', () => done({ ok: false, error: 'timed out' }));
    socket.once('error', (err) => done({ ok: false, error: err.message.split('\n')[0]!.slice(0, 160) }));
    socket.once('secureConnect', () => done({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher()?.name ?? '' }));
  });
}

/** Weak suite families, as OpenSSL cipher strings; each is tried on its own with TLS 1.2. */
const WEAK_SUITES: { name: string; ciphers: string }[] = [
  { name: 'NULL encryption', ciphers: 'eNULL:@SECLEVEL=0' },
  { name: 'anonymous key exchange (no server authentication)', ciphers: 'aNULL:!eNULL:@SECLEVEL=0' },
  { name: 'RC4', ciphers: 'RC4:@SECLEVEL=0' },
  { name: '3DES', ciphers: '3DES:@SECLEVEL=0' },
  { name: 'static RSA key exchange with CBC (no forward secrecy)', ciphers: 'kRSA:!AESGCM:!aNULL:!eNULL:@SECLEVEL=0' },
  { name: 'CBC mode with SHA-1 MAC', ciphers: 'SHA1:!aNULL:!eNULL:!kRSA:@SECLEVEL=0' },
];

/** The target's certificate facts for TLS-004/005/006, or why they cannot be judged. */
async function serverCertificate(ctx: ProbeContext): Promise<ServerTlsFacts | Verdict> {
  const s = needsTls(ctx);
  if (s) return s;
  if (ctx.opts.insecure) return skip('not checked: --insecure');
  const f = await ctx.serverTls();
  return 'error' in f ? inconclusive(`TLS handshake failed: ${f.error}`) : f;
}

function needsTls(ctx: ProbeContext) {
  return ctx.secure ? undefined : skip('the target is plain ws://; TLS checks need a wss:// target');
}

async function selfSignedClient(cn: string): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as any);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}, O=evguard probe`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2'])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString() };
}

function splitPem(pems: string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pems.join('\n').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // not a certificate we can read; it cannot be an anchor
    }
  }
  return out;
}

/** Does the presented chain end at one of the anchors (--ca, or the system roots), ignoring validity dates? */
function chainsToAnchor(leaf: tls.PeerCertificate | undefined, ca: string[] | undefined): boolean {
  const anchors = splitPem(ca ?? [...tls.rootCertificates]);
  const chain: X509Certificate[] = [];
  for (let c: any = leaf; c?.raw && chain.length < 10; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) chain.push(new X509Certificate(c.raw));
  return chain.some((c) => anchors.some((a) => a.fingerprint256 === c.fingerprint256 || (c.checkIssued(a) && c.verify(a.publicKey))));
}

export const tlsChecks: Check[] = [
  {
    spec: {
      id: 'TLS-002',
      needs: ['tls'],
      title: 'TLS below 1.2 accepted',
      severity: 'high',
      basis: TLS_GUIDANCE,
      description: 'Completes TLS handshakes limited to TLS 1.0 and to TLS 1.1.',
      remedy: 'Set the minimum TLS version to 1.2 (better 1.3) on every listener that stations reach.',
    },
    async run(ctx) {
      const s = needsTls(ctx);
      if (s) return s;
      const evidence: string[] = [];
      let accepted = false;
      for (const v of ['TLSv1', 'TLSv1.1'] as const) {
        const r = await handshake(ctx, { minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' });
        accepted ||= r.ok;
        evidence.push(`${v}: ${r.ok ? `accepted (${r.cipher})` : `refused (${r.error})`}`);
      }
      return accepted ? fail(...evidence) : pass(...evidence);
    },
  },
  {
    spec: {
      id: 'TLS-003',
      needs: ['tls'],
      title: 'Weak cipher suites accepted',
      severity: 'medium',
      basis: TLS_GUIDANCE,
      description: 'Offers one weak TLS 1.2 suite family at a time: NULL, anonymous, RC4, 3DES, static RSA key exchange, CBC with SHA-1.',
      remedy: 'Allow only forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305) for TLS 1.2, plus the TLS 1.3 suites.',
    },
    async run(ctx) {
      const s = needsTls(ctx);
      if (s) return s;
      const evidence: string[] = [];
      let accepted = false;
      for (const w of WEAK_SUITES) {
        const r = await handshake(ctx, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: w.ciphers });
        accepted ||= r.ok;
        evidence.push(`${w.name}: ${r.ok ? `accepted (${r.cipher})` : `refused (${r.error})`}`);
      }
      return accepted ? fail(...evidence) : pass(...evidence);
    },
  },
  {
    spec: {
      id: 'TLS-009',
      needs: ['tls'],
      title: 'Suites without forward secrecy (static RSA with AES-GCM) accepted',
      severity: 'info',
      basis: 'OCPP 2.0.1 Part 2 A00.FR.318 lists TLS_RSA_WITH_AES_128/256_GCM for compatibility; NIST SP 800-52 Rev. 2 §3.3.1 prefers ephemeral key exchange',
      description: 'Offers only TLS_RSA_WITH_AES_128_GCM_SHA256 and TLS_RSA_WITH_AES_256_GCM_SHA384 with TLS 1.2.',
      remedy: 'Keep them only while stations that need them remain; prefer ECDHE suites (server cipher order) and plan their removal.',
    },
    async run(ctx) {
      const s = needsTls(ctx);
      if (s) return s;
      const r = await handshake(ctx, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' });
      return r.ok ? fail(`static RSA AES-GCM accepted (${r.cipher}); a stolen server key decrypts recorded sessions`) : pass(`static RSA AES-GCM refused (${r.error})`);
    },
  },
  {
    spec: {
      id: 'TLS-004',
      needs: ['tls'],
      title: 'Server certificate not trusted (self-signed or unknown issuer)',
      severity: 'high',
      basis: CERT_GUIDANCE,
      description: 'Verifies the target\'s certificate chain against --ca (or the system roots).',
      remedy: 'Serve a certificate issued by the CSMS root the stations hold (OCPP CSMSRootCertificate), with its intermediate chain.',
    },
    async run(ctx) {
      const f = await serverCertificate(ctx);
      if ('outcome' in f) return f;
      const subject = `subject ${f.certificate?.subject?.CN ?? '?'}, issuer ${f.certificate?.issuer?.CN ?? '?'}`;
      if (f.authorized) return pass(`chain verified (${subject})`);
      if (f.authorizationError === 'CERT_HAS_EXPIRED' || f.authorizationError === 'CERT_NOT_YET_VALID') {
        // OpenSSL reports the time fault first; judge the issuer on its own (validity is TLS-005's finding).
        const anchored = chainsToAnchor(f.certificate, ctx.opts.ca);
        return anchored ? pass(`chain leads to a trusted root (${subject}); ${f.authorizationError} is TLS-005's finding`) : fail(`not issued by a trusted root (${subject}); OpenSSL also reports ${f.authorizationError}`);
      }
      return fail(`verification failed: ${f.authorizationError} (${subject})`);
    },
  },
  {
    spec: {
      id: 'TLS-005',
      needs: ['tls'],
      title: 'Server certificate expired or not yet valid',
      severity: 'high',
      basis: CERT_GUIDANCE,
      description: 'Reads the validity period of the target\'s certificate.',
      remedy: 'Renew the server certificate before it expires and monitor its expiry.',
    },
    async run(ctx) {
      const f = await serverCertificate(ctx);
      if ('outcome' in f) return f;
      const c = f.certificate;
      if (!c?.valid_to) return inconclusive('no certificate presented');
      const now = Date.now();
      const from = Date.parse(c.valid_from);
      const to = Date.parse(c.valid_to);
      const period = `valid ${c.valid_from} to ${c.valid_to}`;
      if (now > to) return fail(`expired: ${period}`);
      if (now < from) return fail(`not yet valid: ${period}`);
      return pass(period);
    },
  },
  {
    spec: {
      id: 'TLS-006',
      needs: ['tls'],
      title: 'Server certificate does not match the host name',
      severity: 'high',
      basis: CERT_GUIDANCE,
      description: 'Checks the target\'s certificate names against the host in the URL (RFC 6125 rules, as Node applies them).',
      remedy: 'Put every host name and address stations use into the server certificate\'s subjectAltName.',
    },
    async run(ctx) {
      const f = await serverCertificate(ctx);
      if ('outcome' in f) return f;
      if (!f.certificate?.subject) return inconclusive('no certificate presented');
      const err = tls.checkServerIdentity(ctx.host, f.certificate);
      const names = f.certificate.subjectaltname ?? `CN=${f.certificate.subject.CN}`;
      return err ? fail(`${ctx.host} does not match ${names}: ${err.message}`) : pass(`${ctx.host} matches ${names}`);
    },
  },
  {
    spec: {
      id: 'TLS-007',
      needs: ['tls', 'clientCert'],
      failedLogins: { own: 1, total: 1 },
      title: 'Client certificate from an unknown issuer accepted',
      severity: 'critical',
      basis: 'OCPP 2.0.1 Part 2 §A00 (security profile 3: the CSMS verifies the station certificate chain and that its CN is the station identity); ENCS EV charging security requirements',
      description: 'Connects as the probe station with a freshly made self-signed certificate whose CN is the station id, and no password.',
      remedy: 'Verify client certificates against the station CA only, require a chain to it, and check the CN/serial against the identity.',
    },
    async run(ctx) {
      if (!ctx.secure) return skip('needs a wss:// target');
      if (!ctx.opts.cert) return skip('needs --cert and --key of a security-profile-3 station, so the target expects a client certificate');
      const forged = await selfSignedClient(ctx.opts.stationId);
      const r = await ctx.dial({ cert: forged.cert, key: forged.key, user: undefined, password: undefined });
      return expectRefused(r, `self-signed certificate CN=${ctx.opts.stationId}`);
    },
  },
  {
    spec: {
      id: 'TLS-008',
      needs: ['tls', 'clientCert', 'otherStation'],
      failedLogins: { own: 0, total: 1 },
      title: "Station A's client certificate accepted on station B's URL",
      severity: 'critical',
      basis: 'OCPP 2.0.1 Part 2 §A00 / §A02 (the certificate CN must equal the Charging Station identity); OCPP 1.6 Security Whitepaper §2.2',
      description: "Connects to the other station's URL (--other-station) with the probe station's valid client certificate and no password.",
      remedy: 'Bind each client certificate to one identity: compare its CN (or serial) with the identity in the URL.',
    },
    async run(ctx) {
      if (!ctx.secure) return skip('needs a wss:// target');
      if (!ctx.opts.cert || !ctx.opts.otherStationId) return skip('needs --cert/--key of station A and --other-station B');
      const r = await ctx.dial({ stationId: ctx.opts.otherStationId, user: undefined, password: undefined });
      return expectRefused(r, `${ctx.opts.stationId}'s certificate on ${ctx.url(ctx.opts.otherStationId)}`);
    },
  },
];
