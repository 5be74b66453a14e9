/** Data loading and routing hooks shared by the views. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** The route does not exist on this node: the feature has not landed or is not enabled. */
  unavailable: boolean;
  reload(): void;
  set(update: (old: T | undefined) => T | undefined): void;
}

/**
 * GETs `path` (null: nothing to load), and again every `pollMs` while the tab
 * is visible, so views stay current without reloading the page.
 */
export function useResource<T>(path: string | null, pollMs?: number, accept?: string): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    if (path === null) return;
    const ctrl = new AbortController();
    setLoading(true);
    get<T>(path, ctrl.signal, accept)
      .then((d) => {
        setData(d);
        setError(undefined);
      })
      .catch((e) => {
        if (e.name !== 'AbortError') setError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)));
      })
      .finally(() => !ctrl.signal.aborted && setLoading(false));
    return () => ctrl.abort();
  }, [path, tick]);

  useEffect(() => {
    if (!pollMs || path === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, pollMs);
    return () => clearInterval(timer);
  }, [path, pollMs]);

  return { data, error, loading, unavailable: Boolean(error?.missingRoute), reload, set: (f) => setData(f) };
}

/** Hash routes (`#/station/CS-1`) need no server-side fallback and survive a reload. */
export function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'fleet').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const href = (...parts: string[]) => '#/' + parts.map(encodeURIComponent).join('/');

/** Keeps the latest value of something in a ref, for callbacks that outlive a render. */
export function useLatest<T>(value: T) {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}
