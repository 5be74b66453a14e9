/**
 * Plug & Charge domain hooks for the OCPP adapters: Get15118EVCertificate,
 * GetCertificateStatus and the contract check inside Authorize (OCPP 2.0.1
 * use cases M01/M02, M06, C07). The adapters call these through the
 * StationDomain; nothing here knows an OCPP version.
 */
import type { AuthorizationRequest, AuthorizationResult, StationContext, StationDomain } from '../model/station.js';
import type { Trust } from './index.js';

/** StatusInfoType.reasonCode is at most 20 characters; the ISO 15118 ResponseCode goes to additionalInfo in full. */
function reasonCode(code: string): string {
  const short = code.replace(/^FAILED_/, '').replace(/^FAILED$/, 'Failed');
  return (short === 'NoCertificateAvailable' ? 'NoCertificate' : short).slice(0, 20);
}

export function plugAndChargeHooks(trust: Trust, authorizeToken: (ctx: StationContext, req: AuthorizationRequest) => Promise<AuthorizationResult>): Required<Pick<StationDomain, 'get15118EVCertificate' | 'getCertificateStatus' | 'authorize'>> & { idTokenOrContract(idToken: string, fromTokens: (t: string) => Promise<AuthorizationResult>): Promise<AuthorizationResult> } {
  return {
    /**
     * An idToken without certificate data (a TransactionEvent after Plug & Charge,
     * or Authorize with type eMAID only): an EMAID we issued a contract for is
     * decided by that contract's state; anything else by the token list.
     */
    async idTokenOrContract(idToken, fromTokens) {
      const contract = trust.contractStatus(idToken);
      return contract ? { status: contract } : fromTokens(idToken);
    },
    async get15118EVCertificate(_ctx, req) {
      // The action is checked inside (anything but Install/Update is a Failed answer, not an exception).
      const r = await trust.get15118EVCertificate({ iso15118SchemaVersion: req.schemaVersion, action: req.action as 'Install', exiRequest: req.exiRequest });
      // The version adapter (src/ocpp/adapters/v2.ts) answers Failed when the response outgrows its version's exiResponse limit.
      if (!r.statusInfo) return { status: r.status, exiResponse: r.exiResponse };
      const info = `${r.statusInfo.reasonCode}: ${r.statusInfo.additionalInfo ?? ''}`.slice(0, 512);
      return { status: r.status, exiResponse: r.exiResponse, statusInfo: { reasonCode: reasonCode(r.statusInfo.reasonCode), additionalInfo: info } } as { status: 'Accepted' | 'Failed'; exiResponse: string };
    },
    async getCertificateStatus(_ctx, req) {
      const r = await trust.getCertificateStatus(req.ocspRequestData as never);
      if (r.status === 'Accepted') return { status: 'Accepted', ocspResult: r.ocspResult };
      return { status: 'Failed', ...(r.statusInfo ? { statusInfo: { reasonCode: reasonCode(r.statusInfo.reasonCode), ...(r.statusInfo.additionalInfo ? { additionalInfo: r.statusInfo.additionalInfo.slice(0, 512) } : {}) } } : {}) } as { status: 'Failed' };
    },
    /**
     * With contract certificate data (hash data or the PEM chain) the contract
     * decides, checked against our OCSP responder's view: a revoked, expired
     * or unknown contract is never Accepted. Without it, the token list does.
     */
    async authorize(ctx, req) {
      const hashData = Array.isArray(req.iso15118CertificateHashData) && req.iso15118CertificateHashData.length > 0 ? req.iso15118CertificateHashData : undefined;
      if (!hashData && typeof req.certificate !== 'string') {
        const contract = req.tokenType === 'eMAID' ? trust.contractStatus(req.idToken) : undefined;
        return contract ? { status: contract } : authorizeToken(ctx, req);
      }
      const r = await trust.authorizeContract({
        emaid: req.tokenType === 'eMAID' ? req.idToken : undefined,
        certificatePem: typeof req.certificate === 'string' ? req.certificate : undefined,
        iso15118CertificateHashData: typeof req.certificate === 'string' ? undefined : (hashData as never),
      });
      return { status: r.idTokenStatus, certificateStatus: r.certificateStatus };
    },
  };
}
