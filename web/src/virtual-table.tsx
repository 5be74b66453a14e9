/**
 * A table that renders only the rows in view, so ten thousand stations scroll
 * as smoothly as ten. Rows have one fixed height; the body is a grid with
 * aria-activedescendant, so the keyboard moves an active row (arrows, Page
 * Up/Down, Home/End) and Enter opens it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  key: string;
  label: string;
  /** CSS grid track, e.g. '2fr' or '7rem'. */
  width: string;
  render(row: T): ComponentChildren;
  sortable?: boolean;
}

export type Sort = { key: string; dir: 'asc' | 'desc' };

const ROW_HEIGHT = 36;
const OVERSCAN = 8;

export function VirtualTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  sort?: Sort;
  onSort?(s: Sort): void;
  onOpen?(row: T): void;
  height?: string;
}) {
  const { columns, rows } = props;
  const body = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [active, setActive] = useState(0);
  const template = columns.map((c) => c.width).join(' ');
  const idBase = `vt-${props.label.replace(/\W+/g, '-')}`;

  useEffect(() => {
    const el = body.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (active >= rows.length) setActive(Math.max(0, rows.length - 1));
  }, [rows.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  const moveTo = (i: number) => {
    const idx = Math.max(0, Math.min(rows.length - 1, i));
    setActive(idx);
    const el = body.current;
    if (!el) return;
    const top = idx * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  };
  const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
  const onKey = (e: KeyboardEvent) => {
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(active + 1),
      ArrowUp: () => moveTo(active - 1),
      PageDown: () => moveTo(active + page),
      PageUp: () => moveTo(active - page),
      Home: () => moveTo(0),
      End: () => moveTo(rows.length - 1),
      Enter: () => rows[active] && props.onOpen?.(rows[active]!),
    };
    const f = keys[e.key];
    if (f) {
      e.preventDefault();
      f();
    }
  };

  const header = (
    <div class="vt-row vt-head" role="row" style={{ gridTemplateColumns: template }}>
      {columns.map((c) => {
        const sorted = props.sort?.key === c.key ? props.sort.dir : undefined;
        return (
          <div role="columnheader" key={c.key} aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}>
            {c.sortable && props.onSort ? (
              <button type="button" class="linklike" onClick={() => props.onSort!({ key: c.key, dir: sorted === 'asc' ? 'desc' : 'asc' })}>
                {c.label} <span aria-hidden="true">{sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}</span>
              </button>
            ) : (
              c.label
            )}
          </div>
        );
      })}
    </div>
  );

  return (
    <div class="vt" role="grid" aria-label={props.label} aria-rowcount={rows.length + 1} aria-colcount={columns.length}>
      <div role="rowgroup">{header}</div>
      <div
        ref={body}
        role="rowgroup"
        class="vt-body"
        tabIndex={0}
        style={{ height: props.height ?? '60vh' }}
        aria-activedescendant={rows.length ? `${idBase}-${active}` : undefined}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
        onKeyDown={onKey}
      >
        <div style={{ height: `${rows.length * ROW_HEIGHT}px`, position: 'relative' }}>
          {rows.slice(first, last).map((row, j) => {
            const i = first + j;
            return (
              <div
                key={props.rowKey(row)}
                id={`${idBase}-${i}`}
                role="row"
                aria-rowindex={i + 2}
                aria-selected={i === active}
                class={`vt-row${i === active ? ' active' : ''}`}
                style={{ gridTemplateColumns: template, top: `${i * ROW_HEIGHT}px`, height: `${ROW_HEIGHT}px` }}
                onClick={() => setActive(i)}
                onDblClick={() => props.onOpen?.(row)}
              >
                {columns.map((c) => (
                  <div role="gridcell" key={c.key}>
                    {c.render(row)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
        {rows.length === 0 && <p class="muted pad">No rows match.</p>}
      </div>
    </div>
  );
}

/** A stable comparator for mixed values: empty last, numbers numerically, strings naturally. */
export function compareValues(a: unknown, b: unknown): number {
  const ea = a === undefined || a === null || a === '';
  const eb = b === undefined || b === null || b === '';
  if (ea || eb) return ea && eb ? 0 : ea ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(b) - Number(a);
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}
