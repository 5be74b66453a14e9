/** Who may connect: credentials, identities, plain transport and subprotocols. */
import { payloads, describe, type DialResult } from '../wire.js';
import { dialed, expectRefused, fail, pass, randomId, skip, type Check, type Verdict } from './check.js';

const OCPP_VERSION =
  'OCPP-J 1.6 §3.1.2 and OCPP 2.0.1 / 2.1 Part 4 §3.1.2 (OCPP version): a CSMS that agrees to none of the offered subprotocols completes the WebSocket handshake with a response without a Sec-WebSocket-Protocol header and then immediately closes the connection';

/**
 * OCPP-J's answer to "no version agreed" is a completed handshake without the
 * header and an immediate close. An HTTP refusal leaves no session either
 * (passes, noted); a connection that stays open and serves CALLs fails.
 */
async function judgeNoVersion(r: DialResult, what: string): Promise<Verdict> {
  if (!r.ok) {
    if (r.status !== undefined) return pass(`${what}: ${dialed(r)}`, 'no session; OCPP-J describes completing the handshake without the header and closing at once, a refusal of the upgrade is stricter');
    return expectRefused(r, what);
  }
  if (r.conn.protocol) {
    await r.conn.close();
    return fail(`${what}: the target selected ${r.conn.protocol}, which was not offered`);
  }
  // Closed at once: the close is already there or arrives before any answer.
  const hb = await r.conn.call('Heartbeat', {});
  await r.conn.close();
  if (hb.kind === 'closed') return pass(`${what}: handshake completed without Sec-WebSocket-Protocol, then the target closed the connection (${hb.code}${hb.reason ? ` ${hb.reason.slice(0, 80)}` : ''})`);
  if (hb.kind === 'timeout') return fail(`${what}: handshake completed without Sec-WebSocket-Protocol and the connection was kept open (no close within the timeout)`);
  return fail(`${what}: handshake completed without Sec-WebSocket-Protocol and the target served a Heartbeat on it: ${describe(hb)}`);
}

const PROFILES = 'OCPP 2.0.1 Part 2 §A00 (security profiles 1–3: HTTP Basic authentication with the station identity as username, TLS, client certificates); OCPP 1.6 Security Whitepaper §2';

export const connectChecks: Check[] = [
  {
    spec: {
      id: 'AUTH-001',
      needs: ['session'],
      failedLogins: { own: 1, total: 1 },
      title: 'Connection accepted without credentials',
      severity: 'critical',
      basis: PROFILES,
      description: 'Opens an OCPP WebSocket for the probe station without a Basic-auth header and without a client certificate.',
      remedy: 'Require HTTP Basic authentication (profiles 1 and 2) or a valid client certificate (profile 3) for every station; refuse the upgrade with 401 otherwise.',
    },
    async run(ctx) {
      const r = await ctx.dial({ user: undefined, password: undefined, cert: undefined, key: undefined });
      return expectRefused(r, `station ${ctx.opts.stationId} without any credentials`);
    },
  },
  {
    spec: {
      id: 'AUTH-002',
      needs: ['session'],
      failedLogins: { own: 1, total: 1 },
      title: 'Connection accepted with a wrong password',
      severity: 'critical',
      basis: PROFILES,
      description: 'Opens an OCPP WebSocket for the probe station with the right username and a random wrong password, and no client certificate.',
      remedy: 'Verify the Basic-auth password against a stored salted hash (scrypt/argon2) and refuse a mismatch with 401.',
    },
    async run(ctx) {
      const wrong = `wrong-${Math.random().toString(36).slice(2)}-password`;
      const r = await ctx.dial({ user: ctx.opts.user ?? ctx.opts.stationId, password: wrong, cert: undefined, key: undefined });
      return expectRefused(r, `station ${ctx.opts.stationId} with a wrong password`);
    },
  },
  {
    spec: {
      id: 'AUTH-003',
      needs: ['session'],
      failedLogins: { own: 0, total: 1 },
      title: 'Connection accepted for an unknown station id',
      severity: 'medium',
      basis: `${PROFILES}; ENCS EV charging security requirements (only registered stations connect)`,
      description: 'Opens an OCPP WebSocket for a random, unregistered station id with the probe station\'s password, then tries a Heartbeat before any BootNotification.',
      remedy: 'Refuse unknown identities with the same answer as a wrong password (401), so ids cannot be enumerated; register stations before they connect.',
    },
    async run(ctx) {
      const id = randomId();
      const r = await ctx.dial({ stationId: id, user: id });
      if (!r.ok) return expectRefused(r, `unknown station ${id}`);
      const hb = await r.conn.call('Heartbeat', {});
      const version = r.conn.version ?? '2.0.1';
      const [action, payload] = payloads.boot(version);
      const boot = await r.conn.call(action, payload);
      await r.conn.close();
      return fail(`unknown station ${id}: ${dialed(r)}`, `Heartbeat before BootNotification: ${describe(hb)}`, `BootNotification: ${describe(boot)}`);
    },
  },
  {
    spec: {
      id: 'AUTH-004',
      needs: ['session'],
      failedLogins: { own: 1, total: 1 },
      title: 'Basic-auth username other than the station id accepted',
      severity: 'medium',
      basis: 'OCPP 2.0.1 Part 2 §A00 / OCPP 1.6 Security Whitepaper §2.1: the Basic-auth username is the Charging Station identity',
      description: 'Opens an OCPP WebSocket for the probe station with the right password but another username.',
      remedy: 'Accept Basic credentials only when the username equals the identity in the URL, so one station\'s password cannot open another station\'s session.',
    },
    async run(ctx) {
      if (ctx.opts.password === undefined) return skip('needs --password');
      const user = randomId('OTHER');
      const r = await ctx.dial({ user });
      return expectRefused(r, `station ${ctx.opts.stationId} with username ${user}`);
    },
  },
  {
    spec: {
      id: 'TLS-001',
      needs: ['session'],
      title: 'Plain ws:// accepted where TLS is expected',
      severity: 'high',
      basis: 'OCPP 2.0.1 Part 2 §A00 (profile 1 only on trusted networks; profiles 2 and 3 require TLS); NISTIR 8473 (protect data in transit); UK Smart Charge Points Regulations 2021 Sch. 1 §3 (secure communication)',
      description: 'Connects the probe station over plain ws:// with its credentials: the target itself when it is ws://, or the endpoint given with --plain-url.',
      remedy: 'Serve OCPP over wss:// only (security profile 2 or 3) and refuse a station registered for TLS when it arrives over plain ws://.',
    },
    async run(ctx) {
      if (!ctx.secure) {
        const r = await ctx.dial();
        if (r.ok) {
          await r.conn.close();
          return fail(`the target itself is plain ws:// (${ctx.opts.url}); station ${ctx.opts.stationId}: ${dialed(r)}; passwords and messages cross the network in clear`);
        }
        return expectRefused(r, `the target is plain ws:// but station ${ctx.opts.stationId}`);
      }
      if (!ctx.opts.plainUrl) return skip('the target is wss://; give --plain-url ws://… to test whether the same station is accepted without TLS');
      const r = await ctx.dial({ url: `${ctx.opts.plainUrl.replace(/\/+$/, '')}/${encodeURIComponent(ctx.opts.stationId)}` });
      if (r.ok) {
        await r.conn.close();
        return fail(`station ${ctx.opts.stationId} over ${ctx.opts.plainUrl}: ${dialed(r)}`);
      }
      return pass(`station ${ctx.opts.stationId} over ${ctx.opts.plainUrl}: ${dialed(r)}`);
    },
  },
  {
    spec: {
      id: 'WS-001',
      needs: ['session'],
      title: 'Session without an agreed OCPP subprotocol (none offered)',
      severity: 'low',
      basis: OCPP_VERSION,
      description: "Opens the probe station's WebSocket with its credentials but no Sec-WebSocket-Protocol header, then sends a Heartbeat.",
      remedy: 'When no supported OCPP subprotocol is offered, complete the handshake without a Sec-WebSocket-Protocol header and close the connection at once (OCPP-J §3.1.2), instead of serving it with a guessed version.',
    },
    async run(ctx) {
      return judgeNoVersion(await ctx.dial({ protocols: [] }), 'no subprotocol offered');
    },
  },
  {
    spec: {
      id: 'WS-002',
      needs: ['session'],
      title: 'Session without an agreed OCPP subprotocol (only an unknown one offered)',
      severity: 'low',
      basis: `${OCPP_VERSION}; RFC 6455 §4.2.2 (the server selects one of the offered subprotocols or none)`,
      description: "Offers only an unknown subprotocol (ocpp0.9) with the probe station's credentials, then sends a Heartbeat.",
      remedy: 'Never select a subprotocol that is not supported; complete the handshake without Sec-WebSocket-Protocol and close the connection at once.',
    },
    async run(ctx) {
      // Sent as a plain header: the ws client would refuse a 101 without a subprotocol if it offered one itself.
      const r = await ctx.dial({ protocols: [], extraHeaders: { 'Sec-WebSocket-Protocol': 'ocpp0.9' } });
      if (!r.ok && /sent a subprotocol/i.test(r.error)) return fail(`only ocpp0.9 offered: the target selected a subprotocol anyway (${r.error})`);
      return judgeNoVersion(r, 'only ocpp0.9 offered');
    },
  },
];

