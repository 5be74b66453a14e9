/**
 * The best-practice baseline. Each rule cites the public guidance it rests
 * on, says how evguard verifies it (the procurement checklist prints that),
 * and judges one station's facts: pass, fail, unknown (evguard cannot tell
 * yet) or not applicable. Pure functions, no I/O.
 */
import { compareVersions } from '../model/firmware-version.js';
import { configValue, type Advisory, type StationFacts } from './facts.js';

export type RuleSeverity = 'low' | 'medium' | 'high' | 'critical';
export type RuleStatus = 'pass' | 'fail' | 'unknown' | 'not-applicable';

export interface RuleVerdict {
  status: RuleStatus;
  evidence: string;
  /** Raises the rule's severity for this station (e.g. an advisory's own severity). */
  severity?: RuleSeverity;
}

export interface Rule {
  id: string;
  title: string;
  severity: RuleSeverity;
  /** Public guidance, most specific first. */
  sources: string[];
  /** How evguard verifies it, as a requirement's acceptance test. */
  verification: string;
  remedy: string;
  /** Profile the rule belongs to: every station, or only wireless (WPT) ones. */
  profile: 'all' | 'wireless';
  evaluate(f: StationFacts): RuleVerdict;
}

export const SOURCES = {
  ocppA: 'OCPP 2.0.1 Part 2, Functional Block A (Security): security profiles, TLS, certificates',
  ocppA04: 'OCPP 2.0.1 Part 2 A04 (Security event notification) and N01 (security log via GetLog)',
  ocppL: 'OCPP 2.0.1 Part 2 L01 (Secure firmware update); OCPP 1.6 Security Whitepaper (signed firmware update)',
  ocpp16sec: 'OCPP 1.6 Security Whitepaper, edition 3',
  nistir: 'NISTIR 8473, Cybersecurity Framework Profile for Electric Vehicle Extreme Fast Charging Infrastructure',
  uk: 'UK Electric Vehicles (Smart Charge Points) Regulations 2021, Schedule 1 (security requirements)',
  etsi: (p: string) => `ETSI EN 303 645 V2.1.1 provision ${p}`,
  encs: 'ENCS, EV Charging Systems Security Requirements',
  iso15118: 'ISO 15118-20:2022 (wireless power transfer messages, TLS 1.3)',
  j2954: 'SAE J2954 (wireless power transfer: alignment, foreign and living object detection)',
} as const;

const DAY = 86_400_000;
export const PASSWORD_MAX_AGE_DAYS = 365;
export const CERT_RENEWAL_DAYS = 30;

const truthy = (v: string | undefined) => v !== undefined && /^(true|1|on|enabled|yes)$/i.test(v.trim());
const falsy = (v: string | undefined) => v !== undefined && /^(false|0|off|disabled|no)$/i.test(v.trim());
/** The protocol has the security features built in (2.x), or they depend on the 1.6 security extension; undefined while the version is unknown. */
const securityBuiltIn = (f: StationFacts) => f.protocol?.securityBuiltIn;

function securityExtension16(f: StationFacts): boolean {
  return f.signedFirmwareSeen || f.stationEventTypes.length > 0 || configValue(f, 'SecurityProfile', 'CpoName') !== undefined;
}

function validStationCerts(f: StationFacts) {
  return f.certificates.filter((c) => c.kind === 'station' && !c.revokedAt && Date.parse(c.notAfter) > f.now.getTime());
}

export function matchesAdvisory(f: StationFacts, a: Advisory): boolean {
  if (!f.firmwareVersion) return false;
  const eq = (x?: string, y?: string) => x === undefined || (y !== undefined && x.toLowerCase() === y.toLowerCase());
  if (!eq(a.vendor, f.vendor) || !eq(a.model, f.model)) return false;
  if (a.versions?.includes(f.firmwareVersion)) return true;
  return a.fixedIn !== undefined && compareVersions(f.firmwareVersion, a.fixedIn) < 0;
}

export function isWireless(f: StationFacts): boolean {
  if (/wireless|inductive|\bWPT\b|J2954/i.test(`${f.vendor ?? ''} ${f.model ?? ''}`)) return true;
  return Object.keys(f.configuration ?? {}).some((k) => /WPT|Wireless/i.test(k));
}

export const RULES: readonly Rule[] = [
  {
    id: 'ASM-01',
    title: 'Security profile 2 or 3 (TLS) is used',
    severity: 'high',
    sources: [SOURCES.ocppA, SOURCES.etsi('5.5-1'), SOURCES.uk, SOURCES.nistir],
    verification: 'The station is registered for profile 2 or 3 and its live session arrived over wss:// with that profile.',
    remedy: 'Move the station to profile 2 (TLS + password) or 3 (TLS + client certificate) with SetNetworkProfile / ChangeConfiguration SecurityProfile, then raise its registered profile.',
    profile: 'all',
    evaluate(f) {
      const live = f.session?.securityProfile;
      if (f.securityProfile < 2) return { status: 'fail', evidence: `registered for profile ${f.securityProfile}` };
      if (live !== undefined && live < 2) return { status: 'fail', evidence: `registered for profile ${f.securityProfile} but connected with profile ${live}` };
      return { status: 'pass', evidence: `registered for profile ${f.securityProfile}${live ? `, connected with profile ${live}` : ''}` };
    },
  },
  {
    id: 'ASM-02',
    title: 'TLS 1.2 or better protects the connection',
    severity: 'high',
    sources: [`${SOURCES.ocppA} (A00.FR.313)`, 'NIST SP 800-52 Rev. 2', SOURCES.etsi('5.5-1')],
    verification: 'The station connects over wss:// to a listener that refuses TLS below 1.2 (evguard probe TLS-002 verifies the listener).',
    remedy: 'Use security profile 2 or 3; keep the listener at TLS 1.2 minimum.',
    profile: 'all',
    evaluate(f) {
      const profile = f.session?.securityProfile ?? f.securityProfile;
      if (profile < 2) return { status: 'fail', evidence: 'plain ws:// (profile 1): no TLS at all' };
      return { status: 'pass', evidence: `wss:// through a listener with minimum ${f.listenerMinTls}` };
    },
  },
  {
    id: 'ASM-03',
    title: 'No default or weak password',
    severity: 'high',
    sources: [SOURCES.etsi('5.1-1, 5.1-2'), `${SOURCES.uk} (passwords)`, `${SOURCES.ocppA} (BasicAuthPassword 16–40 characters)`, SOURCES.nistir],
    verification: 'Profiles 1 and 2: a per-station password, generated by evguard or checked when set (16–40 printable characters, OCPP BasicAuthPassword), is stored as a salted hash; a shared or factory default cannot be registered twice unnoticed because each station gets its own.',
    remedy: 'Rotate the password with POST /api/v1/stations/:id/password (generated) and push it with SetVariables BasicAuthPassword / ChangeConfiguration AuthorizationKey.',
    profile: 'all',
    evaluate(f) {
      if (f.securityProfile === 3) return { status: 'not-applicable', evidence: 'profile 3 authenticates with a client certificate' };
      return f.hasPassword
        ? { status: 'pass', evidence: 'unique password set through evguard\'s strength check, stored as a salted hash' }
        : { status: 'fail', evidence: 'no password stored for a password-based profile' };
    },
  },
  {
    id: 'ASM-04',
    title: `Password rotated within ${PASSWORD_MAX_AGE_DAYS} days`,
    severity: 'medium',
    sources: [SOURCES.nistir, SOURCES.encs, `${SOURCES.ocppA} (A01 Update Charging Station Password)`],
    verification: `The last password change (registration or rotation, from the audit log) is less than ${PASSWORD_MAX_AGE_DAYS} days old.`,
    remedy: 'Rotate the password (A01) and record it; automate yearly rotation.',
    profile: 'all',
    evaluate(f) {
      if (f.securityProfile === 3) return { status: 'not-applicable', evidence: 'profile 3 has no password' };
      const since = f.passwordChangedAt ?? f.createdAt;
      const days = Math.floor((f.now.getTime() - Date.parse(since)) / DAY);
      const how = f.passwordChangedAt ? 'last rotated' : 'set at registration';
      return days > PASSWORD_MAX_AGE_DAYS
        ? { status: 'fail', evidence: `${how} ${days} days ago (${since})` }
        : { status: 'pass', evidence: `${how} ${days} days ago (${since})` };
    },
  },
  {
    id: 'ASM-05',
    title: 'Valid station certificate for security profile 3',
    severity: 'high',
    sources: [`${SOURCES.ocppA} (A02/A03 certificate update, A00 profile 3)`, SOURCES.encs],
    verification: 'A profile-3 station holds an unrevoked, unexpired ChargingStationCertificate issued by evguard\'s station CA.',
    remedy: 'Trigger SignCertificate (TriggerMessage SignChargingStationCertificate) and install the issued certificate.',
    profile: 'all',
    evaluate(f) {
      if (f.securityProfile !== 3) return { status: 'not-applicable', evidence: `profile ${f.securityProfile}` };
      const valid = validStationCerts(f);
      if (valid.length) return { status: 'pass', evidence: `${valid.length} valid certificate(s), newest until ${valid.map((c) => c.notAfter).sort().at(-1)}` };
      const all = f.certificates.filter((c) => c.kind === 'station');
      return { status: 'fail', evidence: all.length ? `${all.length} certificate(s), none valid (expired or revoked)` : 'no station certificate issued' };
    },
  },
  {
    id: 'ASM-06',
    title: `Station certificate not expiring within ${CERT_RENEWAL_DAYS} days`,
    severity: 'medium',
    sources: [`${SOURCES.ocppA} (A02 renewal before expiry)`, SOURCES.nistir],
    verification: `The newest valid station certificate is valid for more than ${CERT_RENEWAL_DAYS} more days.`,
    remedy: 'Renew the certificate now (TriggerMessage SignChargingStationCertificate).',
    profile: 'all',
    evaluate(f) {
      const valid = validStationCerts(f);
      if (!valid.length) return { status: 'not-applicable', evidence: 'no valid station certificate' };
      const newest = valid.map((c) => c.notAfter).sort().at(-1)!;
      const days = Math.floor((Date.parse(newest) - f.now.getTime()) / DAY);
      return days < CERT_RENEWAL_DAYS ? { status: 'fail', evidence: `expires in ${days} days (${newest})` } : { status: 'pass', evidence: `expires in ${days} days (${newest})` };
    },
  },
  {
    id: 'ASM-07',
    title: 'Signed firmware updates supported',
    severity: 'medium',
    sources: [SOURCES.ocppL, SOURCES.etsi('5.3-9, 5.7-1'), `${SOURCES.uk} (software updates)`, SOURCES.nistir],
    verification: 'OCPP 2.x stations (signed UpdateFirmware is part of the protocol); 1.6 stations show the security extension (SignedFirmwareStatusNotification, security events, or SecurityProfile/CpoName keys).',
    remedy: 'Upgrade 1.6 stations to firmware with the OCPP 1.6 security extension, or to OCPP 2.0.1.',
    profile: 'all',
    evaluate(f) {
      if (securityBuiltIn(f) === true) return { status: 'pass', evidence: `OCPP ${f.ocppVersion}: signed firmware update (L01) is part of the protocol` };
      if (securityBuiltIn(f) === undefined) return { status: 'unknown', evidence: 'OCPP version not known yet' };
      if (f.signedFirmwareSeen) return { status: 'pass', evidence: 'SignedFirmwareStatusNotification received' };
      if (securityExtension16(f)) return { status: 'pass', evidence: 'the station implements the 1.6 security extension' };
      if (f.configuration) return { status: 'fail', evidence: 'OCPP 1.6 without the security extension (no SecurityProfile key, no security events)' };
      return { status: 'unknown', evidence: 'configuration not read yet' };
    },
  },
  {
    id: 'ASM-08',
    title: 'No known vulnerable firmware',
    severity: 'critical',
    sources: [SOURCES.etsi('5.2-1, 5.3-2'), `${SOURCES.uk} (software updates)`, SOURCES.nistir, SOURCES.encs],
    verification: 'Vendor, model and firmware version from BootNotification are matched against the advisory list in <data-dir>/firmware-advisories.json.',
    remedy: 'Update the firmware to a fixed version (evguard firmware campaigns) or isolate the station until then.',
    profile: 'all',
    evaluate(f) {
      if (!f.firmwareVersion) return { status: 'unknown', evidence: 'firmware version not reported yet' };
      const hits = f.advisories.filter((a) => matchesAdvisory(f, a));
      if (!hits.length) return { status: 'pass', evidence: `${f.vendor ?? '?'} ${f.model ?? '?'} ${f.firmwareVersion}: matches none of ${f.advisories.length} advisories` };
      const order: RuleSeverity[] = ['medium', 'high', 'critical'];
      const worst = hits.map((h) => h.severity ?? 'critical').sort((a, b) => order.indexOf(b) - order.indexOf(a))[0];
      return { status: 'fail', severity: worst, evidence: `${f.vendor ?? '?'} ${f.model ?? '?'} ${f.firmwareVersion} is affected by ${hits.map((h) => h.advisory).join(', ')}` };
    },
  },
  {
    id: 'ASM-09',
    title: "The station's own configuration says profile 2 or better",
    severity: 'high',
    sources: [`${SOURCES.ocppA} (SecurityCtrlr.SecurityProfile)`, SOURCES.ocpp16sec],
    verification: 'SecurityCtrlr.SecurityProfile (2.x) or the SecurityProfile key (1.6), read with GetVariables / GetConfiguration / NotifyReport, is at least 2 and not below the registered profile.',
    remedy: 'Raise the station\'s configured profile (SetNetworkProfile + reconnect in 2.x; ChangeConfiguration SecurityProfile in 1.6).',
    profile: 'all',
    evaluate(f) {
      const v = configValue(f, 'SecurityCtrlr.SecurityProfile', 'SecurityProfile');
      if (v === undefined) return { status: 'unknown', evidence: f.configuration ? 'the station does not report its security profile' : 'configuration not read yet' };
      const n = Number(v);
      if (!(n >= 2)) return { status: 'fail', evidence: `the station reports security profile ${v}` };
      if (n < f.securityProfile) return { status: 'fail', evidence: `the station reports profile ${v}, below its registered profile ${f.securityProfile}` };
      return { status: 'pass', evidence: `the station reports security profile ${v}` };
    },
  },
  {
    id: 'ASM-10',
    title: 'Security log present and reported',
    severity: 'medium',
    sources: [SOURCES.ocppA04, `${SOURCES.uk} (security log)`, SOURCES.etsi('5.10-1'), SOURCES.nistir],
    verification: 'OCPP 2.x (security log and SecurityEventNotification are part of the protocol), or a 1.6 station with the security extension, or any SecurityEventNotification received.',
    remedy: 'Enable the security log and security event notifications; for 1.6 install firmware with the security extension.',
    profile: 'all',
    evaluate(f) {
      if (f.stationEventTypes.length) return { status: 'pass', evidence: `security events received: ${f.stationEventTypes.slice(0, 5).join(', ')}` };
      if (securityBuiltIn(f) === true) return { status: 'pass', evidence: `OCPP ${f.ocppVersion}: security log (GetLog SecurityLog) is part of the protocol` };
      if (securityBuiltIn(f) === false && securityExtension16(f)) return { status: 'pass', evidence: 'the station implements the 1.6 security extension' };
      if (securityBuiltIn(f) === false && f.configuration) return { status: 'fail', evidence: 'OCPP 1.6 without the security extension: no security log' };
      return { status: 'unknown', evidence: 'not known yet' };
    },
  },
  {
    id: 'ASM-11',
    title: 'Time synchronised',
    severity: 'medium',
    sources: [`${SOURCES.ocppA} (A00: valid time needed to check certificates)`, 'OCPP 2.0.1 Part 2 ClockCtrlr.TimeSource', SOURCES.nistir],
    verification: 'No open clock-skew alert, and ClockCtrlr.TimeSource (2.x) names a network source (NTP, Heartbeat, GPS, MobileNetwork); 1.6 stations take the CSMS time from BootNotification/Heartbeat.',
    remedy: 'Configure NTP (or Heartbeat) as the time source; investigate clock-skew alerts.',
    profile: 'all',
    evaluate(f) {
      const skew = f.openAlerts.find((a) => /clock/i.test(a.detector));
      if (skew) return { status: 'fail', evidence: `open alert: ${skew.title}` };
      const source = configValue(f, 'ClockCtrlr.TimeSource');
      if (source !== undefined) {
        return /NTP|Heartbeat|GPS|MobileNetwork/i.test(source)
          ? { status: 'pass', evidence: `TimeSource ${source}` }
          : { status: 'fail', evidence: `TimeSource ${source || '(empty)'}: no network time` };
      }
      if (f.protocol?.timeSourceReported === false && f.lastSeenAt) return { status: 'pass', evidence: 'synchronised from the CSMS time in BootNotification/Heartbeat; no clock-skew alert' };
      return { status: 'unknown', evidence: f.configuration ? 'the station does not report ClockCtrlr.TimeSource' : 'configuration not read yet' };
    },
  },
  {
    id: 'ASM-12',
    title: 'Tamper detection enabled',
    severity: 'medium',
    sources: [`${SOURCES.uk} (protection against tampering)`, SOURCES.encs, `${SOURCES.ocppA04} (TamperDetectionActivated)`, SOURCES.nistir],
    verification: 'A tamper-related configuration variable is enabled, or the station has reported tamper events (it detects them).',
    remedy: 'Enable the enclosure tamper switch and its TamperDetectionActivated security event.',
    profile: 'all',
    evaluate(f) {
      const entry = Object.entries(f.configuration ?? {}).find(([k]) => /tamper/i.test(k));
      if (entry && truthy(entry[1])) return { status: 'pass', evidence: `${entry[0]} = ${entry[1]}` };
      if (entry && falsy(entry[1])) return { status: 'fail', evidence: `${entry[0]} = ${entry[1]}` };
      if (f.stationEventTypes.some((t) => /tamper/i.test(t))) return { status: 'pass', evidence: 'the station has reported tamper events' };
      return { status: 'unknown', evidence: 'no tamper setting reported and no tamper event seen' };
    },
  },
  {
    id: 'ASM-13',
    title: 'No offline charging for unknown id tokens',
    severity: 'low',
    sources: ['OCPP 2.0.1 Part 2 C (AuthCtrlr.OfflineTxForUnknownIdEnabled); OCPP 1.6 §9.1 (AllowOfflineTxForUnknownId)', SOURCES.encs],
    verification: 'OfflineTxForUnknownIdEnabled (2.x) / AllowOfflineTxForUnknownId (1.6) is false.',
    remedy: 'Set it to false; use a local authorisation list for offline operation.',
    profile: 'all',
    evaluate(f) {
      const v = configValue(f, 'AuthCtrlr.OfflineTxForUnknownIdEnabled', 'AllowOfflineTxForUnknownId');
      if (v === undefined) return { status: 'unknown', evidence: f.configuration ? 'not reported by the station' : 'configuration not read yet' };
      return truthy(v) ? { status: 'fail', evidence: `unknown id tokens may charge offline (${v})` } : { status: 'pass', evidence: `offline charging for unknown ids off (${v})` };
    },
  },
  {
    id: 'ASM-14',
    title: 'No open security alerts',
    severity: 'high',
    sources: [SOURCES.nistir, SOURCES.etsi('5.10-1'), SOURCES.encs],
    verification: 'No alert raised by evguard\'s detectors for this station is open.',
    remedy: 'Investigate, acknowledge and resolve the alerts (GET /api/v1/alerts?stationId=).',
    profile: 'all',
    evaluate(f) {
      const active = f.openAlerts;
      if (!active.length) return { status: 'pass', evidence: 'no open alerts' };
      return { status: 'fail', evidence: `${active.length} open: ${active.slice(0, 5).map((a) => `${a.severity} ${a.title}`).join('; ')}` };
    },
  },
  {
    id: 'ASM-15',
    title: 'Station accepted and not quarantined',
    severity: 'medium',
    sources: ['OCPP 2.0.1 Part 2 B02 (registration status)', SOURCES.nistir],
    verification: 'Registration is Accepted and the station is not quarantined by a detector or an operator.',
    remedy: 'Resolve the reason for quarantine or pending registration.',
    profile: 'all',
    evaluate(f) {
      if (f.quarantined) return { status: 'fail', evidence: 'quarantined' };
      if (f.registration !== 'Accepted') return { status: 'fail', evidence: `registration ${f.registration}` };
      return { status: 'pass', evidence: 'Accepted' };
    },
  },
  {
    id: 'WPT-01',
    title: 'Wireless: foreign and living object detection and alignment checks enabled',
    severity: 'high',
    sources: [SOURCES.j2954, SOURCES.iso15118],
    verification: 'A wireless station reports foreign-object-detection (FOD/LOD) and alignment-check variables as enabled.',
    remedy: 'Enable FOD/LOD and alignment verification before power transfer.',
    profile: 'wireless',
    evaluate(f) {
      const fod = Object.entries(f.configuration ?? {}).find(([k]) => /ForeignObject|\bFOD\b|LivingObject/i.test(k));
      const align = Object.entries(f.configuration ?? {}).find(([k]) => /Alignment/i.test(k));
      if ((fod && falsy(fod[1])) || (align && falsy(align[1]))) return { status: 'fail', evidence: [fod, align].filter(Boolean).map((e) => `${e![0]} = ${e![1]}`).join(', ') };
      if (fod && truthy(fod[1]) && align && truthy(align[1])) return { status: 'pass', evidence: `${fod[0]} = ${fod[1]}, ${align[0]} = ${align[1]}` };
      return { status: 'unknown', evidence: 'FOD/alignment settings not reported' };
    },
  },
  {
    id: 'WPT-02',
    title: 'Wireless: ISO 15118-20 with TLS for the vehicle link',
    severity: 'medium',
    sources: [SOURCES.iso15118, SOURCES.j2954],
    verification: 'A wireless station reports ISO 15118-20 support (ISO15118Ctrlr) with TLS enabled.',
    remedy: 'Enable ISO 15118-20 WPT with TLS 1.3 on the vehicle link.',
    profile: 'wireless',
    evaluate(f) {
      const tlsOn = Object.entries(f.configuration ?? {}).find(([k]) => /ISO15118.*(TLS|Secure)/i.test(k));
      if (!tlsOn) return { status: 'unknown', evidence: 'ISO 15118 TLS setting not reported' };
      return truthy(tlsOn[1]) ? { status: 'pass', evidence: `${tlsOn[0]} = ${tlsOn[1]}` } : { status: 'fail', evidence: `${tlsOn[0]} = ${tlsOn[1]}` };
    },
  },
];
