/**
 * Accounts for the node's JavaScript heap per station: two V8 heap snapshots
 * of the node, at two fleet sizes, summed by kind of object (constructor name
 * for objects; closures, strings, arrays and code by type), and the
 * difference divided by the stations added. One-off growth between the two
 * snapshots is not counted; native memory (TLS, socket buffers) is not in a
 * heap snapshot, and is the RSS slope minus the heap slope.
 */
import { readFileSync } from 'node:fs';

export interface HeapKind {
  kind: string;
  /** Objects of this kind added per station. */
  countPerStation: number;
  bytesPerStation: number;
}

type Totals = Map<string, { count: number; bytes: number }>;

/** Self sizes summed by kind of object, from a .heapsnapshot file. */
export function heapTotals(file: string): Totals {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const at = (f: string) => fields.indexOf(f);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const totals: Totals = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = snap.strings[snap.nodes[i + nameAt]!] ?? '';
    const kind = kindOf(type, name);
    const t = totals.get(kind) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += snap.nodes[i + sizeAt]!;
    totals.set(kind, t);
  }
  return totals;
}

/** Objects by constructor; closures by function name; arrays by what they hold; strings together. */
function kindOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name.slice(0, 60) || type;
  if (type.endsWith('string')) return 'string';
  if (type === 'closure') return `closure ${name.slice(0, 50) || '(anonymous)'}`;
  if (type === 'array' || (type === 'hidden' && name.startsWith('system /'))) return `${type === 'array' ? 'array ' : ''}${name.slice(0, 60)}`;
  return `(${type})`;
}

/** What `stations` more stations added between two snapshots, largest first. */
export function heapPerStation(before: Totals, after: Totals, stations: number, top = 30): { kinds: HeapKind[]; bytesPerStation: number } {
  const kinds: HeapKind[] = [];
  let total = 0;
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { count: 0, bytes: 0 };
    const bytes = (a.bytes - b.bytes) / stations;
    total += bytes;
    kinds.push({ kind, countPerStation: +((a.count - b.count) / stations).toFixed(2), bytesPerStation: Math.round(bytes) });
  }
  for (const [kind, b] of before) if (!after.has(kind)) total -= b.bytes / stations;
  kinds.sort((x, y) => y.bytesPerStation - x.bytesPerStation);
  return { kinds: kinds.slice(0, top), bytesPerStation: Math.round(total) };
}
