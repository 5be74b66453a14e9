/**
 * The hostile-frame catalogue: each attack writes a few frames on one open
 * connection of a registered station. Together they cover what a station (or
 * anyone holding its password) can send a node after the upgrade: malformed
 * JSON, wrong types, huge and deep values, invalid UTF-8, frames after either
 * side's Close, length headers over the frame limit or over 2^53, frames split
 * across TCP writes, unknown and replayed message ids, CALLRESULTs and
 * CALLERRORs for calls never made, prototype-pollution keys, binary frames,
 * control-frame abuse, and random mutations of valid frames.
 */
import type { OcppVersion } from '../../src/model/ocpp-version.js';
import { encodeFrame, OP, type FrameSpec, type WireConnection } from './wire.js';

export type Version = OcppVersion;

export interface AttackContext {
  readonly conn: WireConnection;
  readonly version: Version;
  rng(): number;
  /** A fresh message id. */
  id(): string;
  /** Encodes and writes one frame (optionally split across TCP writes); counts it. False once the socket is gone. */
  send(spec: FrameSpec, split?: 'bytes' | 'chunks'): Promise<boolean>;
  /** Writes bytes that are not one whole frame (a partial header, garbage); counted as a frame when `frame` is true. */
  raw(bytes: Buffer, frame: boolean): Promise<boolean>;
  sleep(ms: number): Promise<void>;
}

export interface Attack {
  name: string;
  weight: number;
  run(c: AttackContext): Promise<void>;
}

const text = (c: AttackContext, s: string | Buffer, split?: 'bytes' | 'chunks') => c.send({ opcode: OP.text, payload: s }, split);
const pick = <T>(c: AttackContext, xs: readonly T[]): T => xs[Math.floor(c.rng() * xs.length)]!;

export const BOOT: Record<Version, object> = {
  '1.6': { chargePointVendor: 'Fuzz', chargePointModel: 'F-1', firmwareVersion: '1.0.0' },
  '2.0.1': { reason: 'PowerUp', chargingStation: { vendorName: 'Fuzz', model: 'F-1', firmwareVersion: '1.0.0' } },
  '2.1': { reason: 'PowerUp', chargingStation: { vendorName: 'Fuzz', model: 'F-1', firmwareVersion: '1.0.0' } },
};

/** Valid CALLs of each version, the raw material for mutations and replays. */
function validCalls(v: Version, now = new Date().toISOString()): [string, object][] {
  if (v === '1.6')
    return [
      ['Heartbeat', {}],
      ['BootNotification', BOOT['1.6']],
      ['StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }],
      ['Authorize', { idTag: 'FUZZTAG' }],
      ['MeterValues', { connectorId: 1, meterValue: [{ timestamp: now, sampledValue: [{ value: '1000' }] }] }],
      ['DataTransfer', { vendorId: 'fuzz', messageId: 'm', data: 'x' }],
      ['StartTransaction', { connectorId: 1, idTag: 'FUZZTAG', meterStart: 0, timestamp: now }],
      ['StopTransaction', { transactionId: 987654, meterStop: 10, timestamp: now }],
    ];
  return [
    ['Heartbeat', {}],
    ['BootNotification', BOOT[v]],
    ['StatusNotification', { timestamp: now, connectorStatus: 'Available', evseId: 1, connectorId: 1 }],
    ['Authorize', { idToken: { idToken: 'FUZZTAG', type: 'ISO14443' } }],
    ['MeterValues', { evseId: 1, meterValue: [{ timestamp: now, sampledValue: [{ value: 1000 }] }] }],
    ['DataTransfer', { vendorId: 'fuzz', messageId: 'm', data: { a: 1 } }],
    ['SecurityEventNotification', { type: 'FuzzEvent', timestamp: now }],
    ['TransactionEvent', { eventType: 'Started', timestamp: now, triggerReason: 'Authorized', seqNo: 0, transactionInfo: { transactionId: 'fuzz-tx' } }],
    ['NotifyEvent', { generatedAt: now, seqNo: 0, eventData: [{ eventId: 1, timestamp: now, trigger: 'Alerting', actualValue: 'x', eventNotificationType: 'HardWiredMonitor', component: { name: 'C' }, variable: { name: 'V' } }] }],
  ];
}

const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const HUGE_STRING = 'A'.repeat(250 * 1024);
const NUMBERS = ['1e400', '-1e400', '1e-400', '12345678901234567890123', '-0', '0.0000000000000000000000001', '9007199254740993', '1' + '0'.repeat(400)];
const ODD_STRINGS = ['"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '""', '"' + 'é'.repeat(3000) + '"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"𝄞"'];
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', 'then'];
const INVALID_UTF8 = [
  Buffer.from([0xff, 0xfe, 0xfd]),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate encoded in UTF-8
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated sequence
  Buffer.from([0x80]), // lone continuation byte
];

function mutate(c: AttackContext, s: string): Buffer {
  const b = Buffer.from(s);
  const out: number[] = [...b];
  const edits = 1 + Math.floor(c.rng() * 4);
  for (let i = 0; i < edits && out.length; i++) {
    const at = Math.floor(c.rng() * out.length);
    const r = c.rng();
    const ch = pick(c, [0x22, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x3a, 0x5c, 0x30, 0x2d, 0x65, 0x20, 0x00, 0x7f]);
    if (r < 0.4) out[at] = ch;
    else if (r < 0.7) out.splice(at, 1);
    else if (r < 0.95) out.splice(at, 0, ch);
    else out.splice(at, 0, 0xff); // the occasional invalid UTF-8 byte
  }
  return Buffer.from(out);
}

function call(c: AttackContext, action: string, payload: unknown, id = c.id()): string {
  return JSON.stringify([2, id, action, payload]);
}

export const ATTACKS: Attack[] = [
  {
    name: 'malformed-json',
    weight: 10,
    async run(c) {
      const id = c.id();
      await text(c, pick(c, [`[2,"${id}","Heartbeat",{`, 'not json', ']', '[', '{', '[2,', `[2,"${id}"`, '"just a string', '[2,"x","Heartbeat",{}]]', '[2,,"Heartbeat",{}]', `[2,"${id}","Heartbeat",{},]`, 'nul', 'tru', '\u0000', ' ', '[2 "a" "b" {}]', '[2,"a","Heartbeat",{"a":1,"a":2}]', '1'.repeat(1000)]));
    },
  },
  {
    name: 'wrong-types',
    weight: 10,
    async run(c) {
      const id = c.id();
      await text(c, pick(c, [
        `[2,123,"Heartbeat",{}]`, `["2","${id}","Heartbeat",{}]`, `[2,"${id}",42,{}]`, `[2,"${id}","Heartbeat","payload"]`, `[2,"${id}","Heartbeat",null]`, `[2,"${id}","Heartbeat",[]]`,
        `[2,"${id}","Heartbeat"]`, `[2,"${id}"]`, '[2]', '[]', '{}', 'null', '42', 'true', `[9,"${id}","Heartbeat",{}]`, `[0,"${id}"]`, `[-1,"${id}"]`, `[2.5,"${id}","Heartbeat",{}]`, `[1e400,"${id}"]`,
        `[2,"","Heartbeat",{}]`, `[2,"${'i'.repeat(37)}","Heartbeat",{}]`, `[2,"${'i'.repeat(10_000)}","Heartbeat",{}]`, `[2,{"a":1},"Heartbeat",{}]`, `[2,"${id}","Heartbeat",{},"extra",1,2]`,
        `[2,"${id}","${'A'.repeat(5000)}",{}]`, `[2,"${id}","NoSuchAction",{}]`, `[2,"${id}","",{}]`, `[2,"${id}","heartbeat",{}]`,
      ]));
    },
  },
  {
    name: 'schema-invalid-call',
    weight: 10,
    async run(c) {
      const [action, payload] = pick(c, validCalls(c.version));
      const broken: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
      const keys = Object.keys(broken);
      const r = c.rng();
      if (keys.length && r < 0.4) broken[pick(c, keys)] = pick(c, [42, 'x', null, true, [], {}, -1, 1.5]);
      else if (keys.length && r < 0.6) delete broken[pick(c, keys)];
      else broken[pick(c, ['unknownField', 'x', 'évil', ''])] = 1;
      await text(c, call(c, action, broken));
    },
  },
  {
    name: 'odd-numbers-and-strings',
    weight: 6,
    async run(c) {
      const id = c.id();
      const n = pick(c, NUMBERS);
      const s = pick(c, ODD_STRINGS);
      const frames = c.version === '1.6'
        ? [`[2,"${id}","MeterValues",{"connectorId":${n},"meterValue":[{"timestamp":"2026-01-01T00:00:00Z","sampledValue":[{"value":${s}}]}]}]`,
           `[2,"${id}","StatusNotification",{"connectorId":${n},"errorCode":"NoError","status":"Available"}]`,
           `[2,"${id}","Authorize",{"idTag":${s}}]`,
           `[2,"${id}","StopTransaction",{"transactionId":${n},"meterStop":${n},"timestamp":"9999-12-31T23:59:59Z"}]`]
        : [`[2,"${id}","MeterValues",{"evseId":${n},"meterValue":[{"timestamp":"0001-01-01T00:00:00Z","sampledValue":[{"value":${n}}]}]}]`,
           `[2,"${id}","StatusNotification",{"timestamp":"2026-01-01T00:00:00Z","connectorStatus":"Available","evseId":${n},"connectorId":${n}}]`,
           `[2,"${id}","Authorize",{"idToken":{"idToken":${s},"type":"ISO14443"}}]`,
           `[2,"${id}","TransactionEvent",{"eventType":"Updated","timestamp":"2026-01-01T00:00:00Z","triggerReason":"MeterValuePeriodic","seqNo":${n},"transactionInfo":{"transactionId":${s}},"meterValue":[{"timestamp":"2026-01-01T00:00:00Z","sampledValue":[{"value":${n}}]}]}]`,
           `[2,"${id}","SecurityEventNotification",{"type":${s},"timestamp":"2026-01-01T00:00:00Z","techInfo":${s}}]`];
      await text(c, pick(c, frames));
    },
  },
  {
    name: 'huge-values',
    weight: 1,
    async run(c) {
      const id = c.id();
      const r = c.rng();
      if (r < 0.25) await text(c, `[2,"${id}","DataTransfer",{"vendorId":"fuzz","data":"${HUGE_STRING}"}]`);
      else if (r < 0.5) await text(c, `[2,"${id}","DataTransfer",{"vendorId":"fuzz","data":[${'0,'.repeat(60_000)}0]}]`);
      else if (r < 0.75) {
        // Schema-valid and wide: thousands of sampled values in one MeterValues.
        const sv = c.version === '1.6' ? '{"value":"1"},' : '{"value":1},';
        await text(c, `[2,"${id}","MeterValues",{"${c.version === '1.6' ? 'connectorId' : 'evseId'}":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z","sampledValue":[${sv.repeat(12_000)}${sv.slice(0, -1)}]}]}]`);
      } else {
        // Just over the frame limit (256 KiB by default), as a real payload.
        await text(c, `[2,"${id}","DataTransfer",{"vendorId":"fuzz","data":"${'B'.repeat(257 * 1024)}"}]`);
      }
    },
  },
  {
    name: 'deep-values',
    weight: 2,
    async run(c) {
      const id = c.id();
      const depth = pick(c, [100, 1000, 10_000, 60_000]);
      const deep = c.rng() < 0.5 ? deepArray(depth) : deepObject(depth);
      const frames = [
        `[2,"${id}","DataTransfer",{"vendorId":"fuzz","data":${deep}}]`,
        `[2,"${id}","Heartbeat",{"customData":{"vendorId":"fuzz","x":${deep}}}]`,
        `[2,"${id}","BootNotification",${deep}]`,
        `[3,"${id}",${deep}]`,
        deep,
      ];
      await text(c, pick(c, frames));
    },
  },
  {
    name: 'invalid-utf8',
    weight: 4,
    async run(c) {
      const bad = pick(c, INVALID_UTF8);
      const frame = Buffer.concat([Buffer.from(`[2,"${c.id()}","Heartbeat",{"a":"`), bad, Buffer.from('"}]')]);
      await c.send({ opcode: OP.text, payload: c.rng() < 0.8 ? frame : bad }, c.rng() < 0.2 ? 'chunks' : undefined);
    },
  },
  {
    name: 'oversize-header',
    weight: 3,
    async run(c) {
      const declared = pick(c, [257n * 1024n, 1n << 31n, (1n << 53n) - 1n, 1n << 53n, (1n << 63n) + 5n, (1n << 64n) - 1n]);
      await c.send({ opcode: pick(c, [OP.text, OP.binary, OP.continuation]), payload: '[2,"x","Heartbeat",{}]', declaredLength: declared });
    },
  },
  {
    name: 'split-across-writes',
    weight: 6,
    async run(c) {
      const [action, payload] = pick(c, validCalls(c.version));
      const frame = c.rng() < 0.5 ? call(c, action, payload) : mutate(c, call(c, action, payload));
      await c.send({ opcode: OP.text, payload: frame }, c.rng() < 0.5 ? 'bytes' : 'chunks');
    },
  },
  {
    name: 'fragmented-message',
    weight: 3,
    async run(c) {
      const [action, payload] = pick(c, validCalls(c.version));
      const whole = Buffer.from(call(c, action, payload));
      const r = c.rng();
      if (r < 0.5) {
        // Legitimate fragmentation: a few pieces, now and then one byte per piece.
        const size = c.rng() < 0.2 ? 1 : Math.max(1, Math.ceil(whole.length / (2 + Math.floor(c.rng() * 6))));
        for (let at = 0; at < whole.length; at += size) {
          const ok = await c.send({ opcode: at === 0 ? OP.text : OP.continuation, payload: whole.subarray(at, at + size), fin: at + size >= whole.length });
          if (!ok) return;
        }
      } else if (r < 0.7) {
        await c.send({ opcode: OP.continuation, payload: whole }); // continuation with nothing to continue
      } else if (r < 0.85) {
        // A new data frame in the middle of a fragmented message.
        await c.send({ opcode: OP.text, payload: whole.subarray(0, 5), fin: false });
        await c.send({ opcode: OP.text, payload: whole });
      } else {
        // Fragments that add up to more than the frame limit.
        const piece = Buffer.alloc(64 * 1024, 0x41);
        for (let i = 0; i < 5; i++) if (!(await c.send({ opcode: i === 0 ? OP.text : OP.continuation, payload: piece, fin: false }))) return;
      }
    },
  },
  {
    name: 'replayed-id',
    weight: 6,
    async run(c) {
      const id = c.id();
      const [action, payload] = pick(c, validCalls(c.version));
      const frame = call(c, action, payload, id);
      const n = 2 + Math.floor(c.rng() * 4);
      for (let i = 0; i < n; i++) if (!(await text(c, frame))) return;
    },
  },
  {
    name: 'unknown-response',
    weight: 8,
    async run(c) {
      const id = pick(c, [c.id(), '-1', '', '__proto__', 'constructor', 'x'.repeat(500)]);
      await text(c, pick(c, [
        `[3,"${id}",{}]`, `[3,"${id}",{"status":"Accepted"}]`, `[3,"${id}",null]`, `[3,"${id}"]`, `[3,"${id}",{"a":"${'z'.repeat(20_000)}"}]`,
        `[4,"${id}","InternalError","boom",{}]`, `[4,"${id}","NotACode","",{}]`, `[4,"${id}"]`, `[4,1,2,3,4]`, `[4,"${id}","GenericError","${'d'.repeat(5000)}",{"x":[1,2,3]}]`, `[4,"${id}",null,null,null]`,
      ]));
    },
  },
  {
    name: 'prototype-pollution',
    weight: 6,
    async run(c) {
      const key = pick(c, POLLUTION_KEYS);
      const id = c.id();
      const [action, payload] = pick(c, validCalls(c.version));
      const body = JSON.stringify(payload).slice(1, -1);
      const frames = [
        `[2,"${id}","${action}",{${body}${body ? ',' : ''}"${key}":{"polluted":true,"isAdmin":true}}]`,
        `[2,"${id}","${action}",{"${key}":{"prototype":{"polluted":true}}}]`,
        `[2,"${id}","${key}",{}]`,
        `[2,"${key}","Heartbeat",{}]`,
        `[2,"${id}","DataTransfer",{"vendorId":"${key}","messageId":"${key}","data":{"${key}":{"${key}":1}}}]`,
        `[2,"${id}","Heartbeat",{"customData":{"vendorId":"x","__proto__":{"polluted":true}}}]`,
        `[3,"${key}",{"__proto__":{"polluted":true}}]`,
        `[4,"${key}","${key}","${key}",{"__proto__":{"polluted":true}}]`,
      ];
      await text(c, pick(c, frames));
    },
  },
  {
    name: 'binary-frame',
    weight: 4,
    async run(c) {
      const [action, payload] = pick(c, validCalls(c.version));
      const body = c.rng() < 0.5 ? Buffer.from(call(c, action, payload)) : Buffer.from(Array.from({ length: 1 + Math.floor(c.rng() * 200) }, () => Math.floor(c.rng() * 256)));
      await c.send({ opcode: OP.binary, payload: body });
    },
  },
  {
    name: 'control-frames',
    weight: 8,
    async run(c) {
      const r = Math.floor(c.rng() * 12);
      switch (r) {
        case 0: await c.send({ opcode: OP.ping, payload: Buffer.alloc(125, 1) }); break;
        case 1: await c.send({ opcode: OP.ping, payload: Buffer.alloc(126, 1) }); break; // over the control-frame limit
        case 2: await c.send({ opcode: OP.ping, payload: 'x', fin: false }); break; // fragmented control frame
        case 3: for (let i = 0; i < 50; i++) if (!(await c.send({ opcode: OP.ping, payload: String(i) }))) return; break; // ping burst
        case 4: await c.send({ opcode: OP.pong, payload: 'unsolicited' }); break;
        case 5: await c.send({ opcode: pick(c, [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload: '[2,"x","Heartbeat",{}]' }); break; // reserved opcodes
        case 6: await c.send({ opcode: OP.text, payload: `[2,"${c.id()}","Heartbeat",{}]`, rsv: pick(c, [1, 2, 4, 7]) }); break; // RSV bits with no extension
        case 7: await c.send({ opcode: OP.text, payload: `[2,"${c.id()}","Heartbeat",{}]`, mask: false }); break; // unmasked client frame
        case 8: await c.send({ opcode: OP.close, payload: Buffer.from([0x03]) }); break; // one-byte close payload
        case 9: {
          const code = Buffer.alloc(2);
          code.writeUInt16BE(pick(c, [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]));
          await c.send({ opcode: OP.close, payload: code });
          break;
        }
        case 10: await c.send({ opcode: OP.close, payload: Buffer.concat([Buffer.from([0x03, 0xe8]), pick(c, INVALID_UTF8)]) }); break; // reason not UTF-8
        default: await c.send({ opcode: OP.text, payload: `[2,"${c.id()}","Heartbeat",{}]`, longLength: true }); break; // non-minimal length encoding
      }
    },
  },
  {
    name: 'after-own-close',
    weight: 3,
    async run(c) {
      const code = Buffer.alloc(2);
      code.writeUInt16BE(1000);
      if (!(await c.send({ opcode: OP.close, payload: code }))) return;
      for (let i = 0; i < 5; i++) {
        const kind = c.rng();
        const ok = kind < 0.4 ? await text(c, call(c, 'Heartbeat', {}))
          : kind < 0.6 ? await c.send({ opcode: OP.text, payload: Buffer.from([0xff, 0xfe]) })
          : kind < 0.8 ? await c.send({ opcode: OP.text, payload: 'x', declaredLength: 1n << 40n })
          : await c.send({ opcode: OP.close, payload: code });
        if (!ok) return;
      }
    },
  },
  {
    name: 'after-node-close',
    weight: 3,
    async run(c) {
      // More consecutive bad frames than maxBadMessages (10): the node starts its own Close …
      for (let i = 0; i < 12; i++) if (!(await text(c, 'not json'))) return;
      if (c.rng() < 0.5) {
        for (let i = 0; i < 40 && c.conn.peerClose === undefined && !c.conn.ended; i++) await c.sleep(5);
      }
      // … and, before answering it, a frame `ws` must reject: oversize header or invalid UTF-8, or more text.
      const r = c.rng();
      if (r < 0.4) await c.send({ opcode: OP.text, payload: 'x', declaredLength: 300n * 1024n });
      else if (r < 0.8) await c.send({ opcode: OP.text, payload: Buffer.from([0x5b, 0xff, 0x5d]) });
      else for (let i = 0; i < 5; i++) if (!(await text(c, call(c, 'Heartbeat', {})))) return;
    },
  },
  {
    name: 'partial-frame',
    weight: 1,
    async run(c) {
      // Half a header, or a header promising bytes that arrive slowly.
      const frame = encodeFrame({ opcode: OP.text, payload: call(c, 'Heartbeat', {}) });
      const cut = 1 + Math.floor(c.rng() * (frame.length - 1));
      if (!(await c.raw(frame.subarray(0, cut), true))) return;
      await c.sleep(50 + Math.floor(c.rng() * 200));
      await c.raw(frame.subarray(cut), false);
    },
  },
  {
    name: 'mutated-valid',
    weight: 10,
    async run(c) {
      const [action, payload] = pick(c, validCalls(c.version));
      await c.send({ opcode: OP.text, payload: mutate(c, call(c, action, payload)) });
    },
  },
  {
    name: 'valid-burst',
    weight: 4,
    async run(c) {
      // Valid CALLs at full speed: what the rate limit is for.
      const calls = validCalls(c.version);
      const n = 5 + Math.floor(c.rng() * 30);
      for (let i = 0; i < n; i++) {
        const [action, payload] = pick(c, calls);
        if (!(await text(c, call(c, action, payload)))) return;
      }
    },
  },
];

const TOTAL_WEIGHT = ATTACKS.reduce((s, a) => s + a.weight, 0);

export function pickAttack(rng: () => number): Attack {
  let x = rng() * TOTAL_WEIGHT;
  for (const a of ATTACKS) if ((x -= a.weight) < 0) return a;
  return ATTACKS[ATTACKS.length - 1]!;
}
