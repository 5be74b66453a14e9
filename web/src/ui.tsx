/** Small building blocks every view uses: states, badges, times, confirmed actions. */
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, roleAllows, type Me, type Role } from './api';
import type { Resource } from './hooks';

export const MeContext = createContext<Me | undefined>(undefined);
export const useMe = () => useContext(MeContext);
export const useCan = (role: Role) => roleAllows(useMe()?.role, role);

export function fmtTime(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function fmtAgo(iso: string | undefined | null): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  const abs = Math.abs(s);
  const [n, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return s >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export const Time = ({ at }: { at?: string | null }) => (at ? <time dateTime={at} title={fmtTime(at)}>{fmtAgo(at)}</time> : <span>—</span>);

export function Badge({ tone = 'neutral', children }: { tone?: 'ok' | 'warn' | 'bad' | 'neutral' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export const severityTone = (s: string) => (s === 'critical' || s === 'high' ? 'bad' : s === 'medium' ? 'warn' : 'info');

/** Loading, failure and "not on this node" states, said in words rather than shown as an empty page. */
export function ResourceState<T>({ r, what, children }: { r: Resource<T>; what: string; children: (data: T) => ComponentChildren }) {
  if (r.unavailable) return <Unavailable what={what} />;
  if (r.error && r.data === undefined) return <ErrorNote error={r.error} />;
  if (r.data === undefined) return <p class="muted" role="status">Loading {what}…</p>;
  return (
    <>
      {r.error && (
        <p class="note note-bad small" role="status">
          {what} could not be refreshed ({r.error.code}: {r.error.message}); showing what was last loaded.
        </p>
      )}
      {children(r.data)}
    </>
  );
}

export function Unavailable({ what }: { what: string }) {
  return (
    <div class="note" role="note">
      <strong>{what}: not available on this node.</strong> The node does not serve this part of the API, so there is nothing to show here. Nothing on this page is sample data.
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div class="note note-bad" role="alert">
      {e ? (
        <>
          <strong>{e.code}</strong>: {e.message}
        </>
      ) : (
        String(error)
      )}
    </div>
  );
}

/**
 * A button that does something to the real world only after the operator
 * confirms it in a modal dialog that says exactly what will happen. Hidden
 * for roles that may not do it.
 */
export function ConfirmAction(props: {
  label: string;
  title: string;
  role?: Role;
  danger?: boolean;
  describe: ComponentChildren;
  /** Optional form fields inside the dialog; their values reach `run`. */
  fields?: (values: Record<string, string>, set: (k: string, v: string) => void) => ComponentChildren;
  initial?: Record<string, string>;
  run(values: Record<string, string>): Promise<unknown>;
  onDone?(result: unknown): void;
  disabled?: boolean;
}) {
  const can = useCan(props.role ?? 'operator');
  const dialog = useRef<HTMLDialogElement>(null);
  const [values, setValues] = useState<Record<string, string>>(props.initial ?? {});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const titleId = useId();
  if (!can) return null;
  const open = () => {
    setValues(props.initial ?? {});
    setError(undefined);
    dialog.current?.showModal();
  };
  const confirm = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const result = await props.run(values);
      dialog.current?.close();
      props.onDone?.(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.danger ? 'danger' : ''} onClick={open} disabled={props.disabled}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} class="confirm">
        <form method="dialog" onSubmit={confirm}>
          <h2 id={titleId}>{props.title}</h2>
          <div>{props.describe}</div>
          {props.fields?.(values, (k, v) => setValues((old) => ({ ...old, [k]: v })))}
          {error !== undefined && <ErrorNote error={error} />}
          <div class="row end">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : `Confirm: ${props.label}`}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A one-line outcome message that screen readers announce. */
export function Outcome({ text }: { text: string | undefined }) {
  const [shown, setShown] = useState(text);
  useEffect(() => setShown(text), [text]);
  return (
    <p class="outcome" role="status" aria-live="polite">
      {shown ?? ''}
    </p>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
      {hint && <small class="muted">{hint}</small>}
    </label>
  );
}
