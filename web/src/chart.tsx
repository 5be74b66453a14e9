/**
 * uPlot charts: time series (meter values, grid load) and bars (certificate
 * expiry). uPlot draws on canvas, so each chart also carries a text summary
 * for screen readers.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';

// uPlot loads with the first chart, so the first page (the fleet) stays small.
type UPlotModule = typeof import('./uplot');
let loading: Promise<UPlotModule> | undefined;
const loadUPlot = () => (loading ??= import('./uplot'));

export interface Series {
  label: string;
  color: string;
  /** Draw as bars rather than a line. */
  bars?: boolean;
  dash?: number[];
  scale?: string;
}

export function Chart(props: { title: string; summary: string; x: number[]; ys: (number | null)[][]; series: Series[]; height?: number; axes?: { left: string; right?: string }; xIsTime?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => `${s.label}:${s.scale ?? 'y'}:${s.bars ? 1 : 0}`).join('|');
  const [lib, setLib] = useState<UPlotModule | undefined>(undefined);
  useEffect(() => void loadUPlot().then(setLib), []);

  useEffect(() => {
    const el = host.current;
    if (!el || !lib) return;
    const uPlot = lib.default;
    const bars = uPlot.paths.bars!({ size: [0.7, 60] });
    const scales = new Set(props.series.map((s) => s.scale ?? 'y'));
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: props.height ?? 220,
      scales: {
        // One sample (or several at one instant) would stretch the axis over years: give it a minute either side.
        x: { time: props.xIsTime !== false, range: (_u, min, max) => (min === max ? [min - (props.xIsTime !== false ? 60 : 1), max + (props.xIsTime !== false ? 60 : 1)] : [min, max]) },
        ...Object.fromEntries([...scales].map((k) => [k, { auto: true }])),
      },
      series: [
        {},
        ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, dash: s.dash, scale: s.scale ?? 'y', fill: s.bars ? s.color + '99' : undefined, paths: s.bars ? bars : undefined, points: { show: false } })),
      ],
      axes: [
        // Time labels need room ("12/6/26 12:15am" under ":05"): at least 90 px between ticks so they never overlap.
        { stroke: 'currentColor', grid: { stroke: '#8884' }, space: 90 },
        { stroke: 'currentColor', grid: { stroke: '#8884' }, label: props.axes?.left, scale: props.series[0]?.scale ?? 'y' },
        ...(props.axes?.right ? [{ stroke: 'currentColor', side: 1 as const, grid: { show: false }, label: props.axes.right, scale: [...scales][1] }] : []),
      ],
      // Series names only: live values would read "Time: --" whenever the pointer is elsewhere.
      legend: { show: true, live: false },
    };
    plot.current = new uPlot(opts, [props.x, ...props.ys] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, lib]);

  useEffect(() => {
    plot.current?.setData([props.x, ...props.ys] as uPlot.AlignedData);
  }, [props.x, props.ys]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}. ${props.summary}`} />
    </figure>
  );
}
