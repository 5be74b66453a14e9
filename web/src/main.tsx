/**
 * The console shell: sign-in with an API token, the role from /api/v1/me,
 * navigation, and one view per hash route.
 */
import { Component, render, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, session, type Me } from './api';
import { href, useRoute } from './hooks';
import { ErrorNote, Field, MeContext } from './ui';
import { FleetView } from './views/fleet';
import { StationView } from './views/station';
import { AlertsView } from './views/alerts';
import { CertificatesView } from './views/certificates';
import { FirmwareView } from './views/firmware';
import { GridView } from './views/grid';
import { IntelView } from './views/intel';
import { AuditView } from './views/audit';
import './style.css';

const NAV: [route: string, label: string][] = [
  ['fleet', 'Fleet'],
  ['alerts', 'Alerts'],
  ['certificates', 'Certificates'],
  ['firmware', 'Firmware'],
  ['grid', 'Grid'],
  ['intel', 'Intel'],
  ['audit', 'Audit log'],
];

/** A view that fails to render says so instead of leaving a blank page; the rest of the console keeps working. */
class ViewBoundary extends Component<{ children: ComponentChildren; view: string }, { error?: Error }> {
  static override getDerivedStateFromError(error: Error) {
    return { error };
  }
  override componentDidUpdate(prev: { view: string }) {
    if (prev.view !== this.props.view && this.state.error) this.setState({ error: undefined });
  }
  override componentDidCatch(error: Error) {
    console.error('view failed', error);
  }
  override render() {
    return this.state.error ? <ErrorNote error={`This view failed: ${this.state.error.message}`} /> : this.props.children;
  }
}

function SignIn({ onSignedIn }: { onSignedIn(me: Me): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await api<Me>('GET', '/api/v1/me', undefined, { token: token.trim() });
      session.set(token.trim());
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new ApiError(401, 'UNAUTHENTICATED', 'This token is not valid on this node.') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">evguard console</h1>
        <p class="muted">Sign in with an API token. The admin token is printed on the node's first start and kept in &lt;data-dir&gt;/admin-token; admins create more with <code>POST /api/v1/tokens</code>.</p>
        <Field label="API token">
          <input name="token" type="password" autocomplete="off" spellcheck={false} required minLength={16} value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </Field>
        {error !== undefined && <ErrorNote error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">The token is kept for this browser tab only.</p>
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [checking, setChecking] = useState(Boolean(session.token));
  const route = useRoute();

  useEffect(() => {
    session.onExpired(() => {
      session.set(null);
      setMe(undefined);
    });
    if (!session.token) return;
    api<Me>('GET', '/api/v1/me')
      .then(setMe)
      .catch(() => session.set(null))
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="muted pad" role="status">Checking the session…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const [view = 'fleet', ...rest] = route;
  const section = view === 'station' ? 'fleet' : view;
  let page;
  switch (view) {
    case 'station':
      page = <StationView id={rest[0] ?? ''} />;
      break;
    case 'alerts':
      page = <AlertsView selected={rest[0]} />;
      break;
    case 'certificates':
      page = <CertificatesView />;
      break;
    case 'firmware':
      page = <FirmwareView />;
      break;
    case 'grid':
      page = <GridView />;
      break;
    case 'intel':
      page = <IntelView />;
      break;
    case 'audit':
      page = <AuditView />;
      break;
    default:
      page = <FleetView />;
  }

  return (
    <MeContext.Provider value={me}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">evguard</span>
        <nav aria-label="Views">
          <ul>
            {NAV.map(([r, label]) => (
              <li key={r}>
                <a href={href(r)} aria-current={section === r ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {me.name} · <strong data-role={me.role}>{me.role}</strong>
            {me.role === 'auditor' && <span class="muted"> (view only)</span>}
          </span>
          <button
            type="button"
            onClick={() => {
              session.set(null);
              setMe(undefined);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ViewBoundary view={route.join('/')}>{page}</ViewBoundary>
      </main>
    </MeContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
