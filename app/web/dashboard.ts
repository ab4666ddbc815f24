import { Api, type ApiResult } from './api.js';
import { LivePanel } from './live.js';
import { RECENT_MS, RequestStrip, swatch } from './strip.js';
import type { ActivityEvent, ActivityView, ApiError, CartItem, ClusterView, DegradedSessionView, DeviceSession, LoginResult, RedisClusterView, SessionView, StatsView } from './types.js';

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 8000;
// The device list changes rarely: every third poll.
const DEVICES_EVERY = 3;
const HAMMER_REQUESTS = 30;
// What the page remembers of its session, so a lost one can say where it lived even after a reload.
const KNOWN_KEY = 'session-cluster.session';
const SESSION_GONE = new Set(['no_session', 'session_expired', 'session_revoked']);

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`dashboard: #${id} is missing from index.html`);
  return element as T;
}

const ui = {
  banner: byId('banner'),
  lost: byId('session-lost'),
  lostHeadline: byId('session-lost-headline'),
  lostDetail: byId('session-lost-detail'),
  loginForm: byId<HTMLFormElement>('login-form'),
  username: byId<HTMLInputElement>('username'),
  password: byId<HTMLInputElement>('password'),
  rememberMe: byId<HTMLInputElement>('remember'),
  loginButton: byId<HTMLButtonElement>('login-button'),
  loginError: byId('login-error'),
  sessionPanel: byId('session-panel'),
  readOnly: byId('read-only'),
  user: byId('session-user'),
  handle: byId('session-handle'),
  createdBy: byId('session-created-by'),
  servedBy: byId('session-served-by'),
  visits: byId<HTMLOutputElement>('visits'),
  idleLeft: byId('idle-left'),
  absoluteLeft: byId('absolute-left'),
  lifetime: byId('session-lifetime'),
  visitButton: byId<HTMLButtonElement>('visit-button'),
  logoutButton: byId<HTMLButtonElement>('logout-button'),
  cartForm: byId<HTMLFormElement>('cart-form'),
  product: byId<HTMLSelectElement>('product'),
  quantity: byId<HTMLInputElement>('quantity'),
  cartError: byId('cart-error'),
  cartEmpty: byId('cart-empty'),
  cartItems: byId<HTMLUListElement>('cart-items'),
  hammerButton: byId<HTMLButtonElement>('hammer-button'),
  hammerStatus: byId('hammer-status'),
  devicesEmpty: byId('devices-empty'),
  devicesTable: byId<HTMLTableElement>('devices-table'),
  devicesRows: byId<HTMLTableSectionElement>('devices-rows'),
  revokeOthers: byId<HTMLButtonElement>('revoke-others'),
  devicesError: byId('devices-error'),
  statsScope: byId('stats-scope'),
  statsActive: byId('stats-active'),
  statsCreated: byId('stats-created'),
  statsEnded: byId('stats-ended'),
  statsDurations: byId('stats-durations'),
  statsLogins: byId('stats-logins'),
  activityEmpty: byId('activity-empty'),
  activityEvents: byId<HTMLOListElement>('activity-events'),
  reauthForm: byId<HTMLFormElement>('reauth-form'),
  reauthPassword: byId<HTMLInputElement>('reauth-password'),
  clusterInstance: byId('cluster-instance'),
  clusterInstances: byId('cluster-instances'),
  clusterStore: byId('cluster-store'),
  clusterRedis: byId('cluster-redis'),
  redisNode: byId('redis-node'),
  redisOffset: byId('redis-offset'),
  redisReplicas: byId<HTMLUListElement>('redis-replicas'),
  sentinelPrimary: byId('sentinel-primary'),
  redisAof: byId('redis-aof'),
  clusterShardsFacts: byId('cluster-shards-facts'),
  clusterShards: byId<HTMLUListElement>('cluster-shards'),
  sessionSlot: byId('session-slot'),
  clusterSessions: byId('cluster-sessions'),
};

/** Where the current session came from, kept client-side: the server forgets a session it lost. */
interface KnownSession {
  handle: string;
  user: string;
  createdBy: string;
  lastServedBy: string;
}

const live = new LivePanel({
  section: byId('live'),
  scope: byId('live-scope'),
  instances: byId<HTMLUListElement>('live-instances'),
  redis: byId<HTMLUListElement>('live-redis'),
  chart: document.getElementById('live-chart') as unknown as SVGSVGElement,
  legend: byId('live-legend'),
  events: byId<HTMLOListElement>('live-events'),
});

const api = new Api();
const strip = new RequestStrip(byId<HTMLOListElement>('strip'), byId<HTMLUListElement>('legend'));
api.onExchange((exchange) => {
  strip.add(exchange);
  renderInstances();
});

let session: SessionView | null = null;
let known: KnownSession | null = loadKnown();
let storeMode: ClusterView['store'] | null = null;
let devicesShown = '';
let cartShown = '';

// --- remembering the session ------------------------------------------------------------------------------

function loadKnown(): KnownSession | null {
  try {
    const raw = sessionStorage.getItem(KNOWN_KEY);
    return raw ? (JSON.parse(raw) as KnownSession) : null;
  } catch {
    return null;
  }
}

function remember(next: KnownSession | null): void {
  known = next;
  try {
    if (next) sessionStorage.setItem(KNOWN_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(KNOWN_KEY);
  } catch {
    // Storage refused (private mode): the page still remembers it in memory.
  }
}

function noteServedBy(servedBy: string | null): void {
  if (known && servedBy && known.lastServedBy !== servedBy) remember({ ...known, lastServedBy: servedBy });
}

// --- problems: the banner and the lost session ---------------------------------------------------------------

/** Failures of the cluster itself (store down, nothing answering) go to the banner, never to an exception. */
function noteHealth(result: ApiResult<unknown>): void {
  if (result.ok) {
    ui.banner.hidden = true;
    return;
  }
  if (result.status === 503 && result.error.error === 'redis_unavailable') {
    showBanner(`Redis cannot be reached from ${result.servedBy ?? 'the instance that answered'}: ${result.error.message}. Retrying…`);
  } else if (result.status === 0 || result.status >= 500) {
    showBanner(`The cluster did not answer properly (${result.error.message}). Retrying…`);
  }
}

function showBanner(text: string): void {
  ui.banner.textContent = text;
  ui.banner.hidden = false;
}

/** A request that needed the session got a 401: the session is gone, say so and where it lived. */
function sessionGone(error: ApiError, answeredBy: string | null): void {
  const lost = known;
  session = null;
  api.csrfToken = '';
  remember(null);
  if (lost) {
    const lastServer = lost.lastServedBy || lost.createdBy;
    if (storeMode === 'redis') {
      ui.lostHeadline.textContent = `Your session is gone: it lived in the shared Redis (created by ${lost.createdBy}, last served by ${lastServer}).`;
    } else {
      const created = lost.createdBy && lost.createdBy !== lastServer ? ` (created on ${lost.createdBy})` : '';
      ui.lostHeadline.textContent = `Your session is gone: it lived on ${lastServer}${created}.`;
    }
    const now = answeredBy ?? 'the load balancer';
    const moved = storeMode === 'memory' && answeredBy && answeredBy !== lastServer
      ? ` ${lastServer} kept it in its own memory; you are now sent to ${answeredBy}, which never saw it.`
      : '';
    ui.lostDetail.textContent = `${now} answered 401 ${error.error}: ${error.message}.${moved} Log in again to start a new one.`;
    ui.lost.hidden = false;
  }
  render();
}

/** Runs a request that needs the session; a 401 means the session is gone. */
async function withSession<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const result = await api.request<T>(method, path, body);
  noteHealth(result);
  if (result.ok) noteServedBy(result.servedBy);
  else if (result.status === 401 && SESSION_GONE.has(result.error.error) && session) sessionGone(result.error, result.servedBy);
  return result;
}

// --- loading -----------------------------------------------------------------------------------------------

function adopt(view: SessionView, servedBy: string | null): void {
  // Visits only grow within one session; a poll that left before a POST landed must not roll it back.
  const visits = session && session.handle === view.handle ? Math.max(session.visits, view.visits) : view.visits;
  session = { ...view, visits };
  api.csrfToken = view.csrfToken;
  if (known?.handle !== view.handle) {
    remember({ handle: view.handle, user: view.user.displayName, createdBy: view.createdBy, lastServedBy: servedBy ?? view.servedBy });
  }
  noteServedBy(servedBy);
}

/**
 * REDIS_DOWN_POLICY=read-only: the store is down and the instance answered from the session's snapshot. The page
 * keeps what it last knew (visits, cart) and says it is read-only; the next answer from the store clears it.
 */
function showReadOnly(view: DegradedSessionView | null): void {
  ui.readOnly.hidden = view === null;
  if (view) ui.readOnly.textContent = `${view.message} (answered by ${view.servedBy}; the snapshot is valid until ${new Date(view.snapshotExpiresAt).toLocaleTimeString()}).`;
}

async function loadSession(): Promise<ApiResult<SessionView | DegradedSessionView>> {
  const hadSession = session !== null;
  const result = await withSession<SessionView | DegradedSessionView>('GET', '/api/session');
  if (result.ok) {
    const view = result.body;
    if ('degraded' in view) noteServedBy(result.servedBy);
    else adopt(view, result.servedBy);
    showReadOnly('degraded' in view ? view : null);
  }
  // Loaded with a cookie the cluster no longer knows (say, the page was reloaded after its instance died).
  else if (!hadSession && result.status === 401 && known) sessionGone(result.error, result.servedBy);
  render();
  return result;
}

async function loadDevices(): Promise<ApiResult<{ sessions: DeviceSession[] }>> {
  const result = await withSession<{ sessions: DeviceSession[] }>('GET', '/api/sessions');
  if (result.ok) renderDevices(result.body.sessions);
  return result;
}

async function loadCluster(): Promise<ApiResult<ClusterView>> {
  const result = await api.request<ClusterView>('GET', '/api/cluster');
  noteHealth(result);
  if (result.ok) renderCluster(result.body);
  if (result.ok || result.status === 503) live.showCluster(result.ok ? result.body : null);
  return result;
}

// --- polling, with backoff while the cluster fails -----------------------------------------------------------

let tick = 0;
let delay = POLL_MS;

async function poll(): Promise<void> {
  tick += 1;
  let healthy = false;
  try {
    const calls: Array<Promise<ApiResult<unknown>>> = [loadCluster()];
    if (tick % DEVICES_EVERY === 0) void loadStats();
    if (session) {
      calls.push(loadSession());
      if (tick % DEVICES_EVERY === 0) calls.push(loadDevices());
    }
    const results = await Promise.all(calls);
    healthy = results.every((r) => r.ok || (r.status > 0 && r.status < 500));
  } finally {
    // Whatever went wrong in this round, the page keeps polling: it is how it notices the cluster recover.
    delay = healthy ? POLL_MS : Math.min(delay * 2, MAX_BACKOFF_MS);
    setTimeout(() => void poll(), document.hidden ? Math.max(delay, 5000) : delay);
  }
}

// --- rendering ---------------------------------------------------------------------------------------------

function timeLeft(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  if (ms <= 0) return 'expired';
  const total = Math.ceil(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const clock = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
  return `${clock} left (at ${new Date(iso).toLocaleTimeString()})`;
}

function renderCountdowns(now = Date.now()): void {
  if (!session) return;
  ui.idleLeft.textContent = timeLeft(session.idleExpiresAt, now);
  ui.absoluteLeft.textContent = timeLeft(session.absoluteExpiresAt, now);
}

function instanceName(id: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  fragment.append(swatch(id), ` ${id}`);
  return fragment;
}

function render(): void {
  const loggedIn = session !== null;
  ui.loginForm.hidden = loggedIn;
  ui.sessionPanel.hidden = !loggedIn;
  ui.hammerButton.disabled = !loggedIn;
  if (!session) {
    renderDevices(null);
    renderActivity(null);
    ui.reauthForm.hidden = true;
    return;
  }
  ui.lost.hidden = true;
  ui.user.textContent = `${session.user.displayName} (${session.user.username})`;
  ui.handle.textContent = session.handle;
  const lastServedBy = known?.lastServedBy ?? session.servedBy;
  ui.createdBy.replaceChildren(instanceName(session.createdBy));
  ui.createdBy.dataset.instance = session.createdBy;
  ui.servedBy.replaceChildren(instanceName(lastServedBy));
  ui.servedBy.dataset.instance = lastServedBy;
  ui.visits.value = String(session.visits);
  ui.lifetime.textContent = session.lifetime === 'remembered' ? 'remembered (kept logged in)' : 'standard';
  renderCountdowns();
  renderCart(session.cart.items);
}

function renderCart(items: CartItem[]): void {
  const shown = JSON.stringify(items);
  if (shown === cartShown) return; // unchanged: keep the buttons (and any focus on them)
  cartShown = shown;
  ui.cartEmpty.hidden = items.length > 0;
  ui.cartItems.replaceChildren(
    ...items.map((item) => {
      const row = document.createElement('li');
      row.dataset.product = item.productId;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'secondary';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', `Remove ${item.productId} from the cart`);
      remove.addEventListener('click', () => void removeFromCart(item.productId));
      row.append(`${item.productId} × ${item.quantity} `, remove);
      return row;
    }),
  );
}

/** One line of the session's log, in words. */
function describeActivity(e: ActivityEvent): string {
  switch (e.action) {
    case 'login': return `logged in (${e.lifetime} session)`;
    case 'visit': return 'counted a visit';
    case 'cart_add': return `added ${e.quantity} × ${e.productId} to the cart`;
    case 'cart_remove': return `removed ${e.productId} from the cart`;
    case 'extend': return 'moved the idle expiry on';
    case 'reauth': return 'checked the password again';
    case 'logout': return 'logged out';
    case 'revoke': return e.revokedBy === 'admin' ? `revoked by the admin ${e.admin}` : e.revokedBy === 'policy' ? 'revoked by a newer login (session policy)' : 'revoked';
    case 'expire': return e.reason === 'idle' ? 'expired: idle too long' : 'expired: absolute lifetime reached';
  }
}

function renderActivity(events: ActivityEvent[] | null): void {
  ui.activityEmpty.hidden = events !== null;
  ui.activityEvents.hidden = events === null;
  ui.activityEvents.replaceChildren(
    ...(events ?? []).map((e) => {
      const item = document.createElement('li');
      item.dataset.action = e.action;
      const where = e.servedBy ? ` on ${e.servedBy}` : '';
      item.textContent = `${new Date(e.at).toLocaleTimeString()} ${describeActivity(e)}${where}`;
      return item;
    }),
  );
}

const seconds = (s: number | null) => (s === null ? '–' : `${s.toFixed(1)} s`);

async function loadStats(): Promise<void> {
  const result = await api.request<StatsView>('GET', '/api/stats');
  if (!result.ok) return;
  const s = result.body;
  ui.statsScope.textContent = s.shared
    ? `The whole cluster's sessions, from the shared store (answered by ${s.servedBy}).`
    : `${s.servedBy}'s sessions only: in the sticky variant each instance keeps its own, and no instance sees the others'.`;
  ui.statsActive.textContent = `${s.activeSessions} / ${s.activeUsers}`;
  ui.statsCreated.textContent = Object.entries(s.createdByInstance).sort(([x], [y]) => x.localeCompare(y)).map(([id, n]) => `${id} ${n}`).join(', ') || 'none yet';
  ui.statsEnded.textContent = Object.entries(s.endedByReason).map(([reason, n]) => `${reason.replace('_', ' ')} ${n}`).join(', ');
  ui.statsDurations.textContent = `${s.endedLastHour.sessions} (${seconds(s.endedLastHour.averageDurationS)} / ${seconds(s.endedLastHour.p95DurationS)})`;
  ui.statsLogins.textContent = String(s.loginsLastMinute);
}

let activityTimer: number | undefined;

/** Reloads the session's log a moment after a change: a burst of clicks reloads it once, and reads never do. */
function activityChanged(): void {
  window.clearTimeout(activityTimer);
  activityTimer = window.setTimeout(() => void loadActivity(), 300);
}

async function loadActivity(): Promise<void> {
  if (!session) return renderActivity(null);
  const result = await withSession<ActivityView>('GET', `/api/sessions/${encodeURIComponent(session.handle)}/activity`);
  if (result.ok && session?.handle === result.body.handle) renderActivity(result.body.events);
}

function renderDevices(sessions: DeviceSession[] | null): void {
  const shown = JSON.stringify(sessions);
  if (shown === devicesShown) return;
  devicesShown = shown;
  ui.devicesEmpty.hidden = sessions !== null;
  ui.devicesTable.hidden = sessions === null;
  ui.revokeOthers.hidden = !sessions || sessions.filter((s) => !s.current).length === 0;
  ui.devicesRows.replaceChildren(
    ...(sessions ?? []).map((s) => {
      const row = document.createElement('tr');
      row.dataset.handle = s.handle;
      if (s.current) row.className = 'current';
      const cells = [
        s.handle.slice(0, 8),
        `${new Date(s.createdAt).toLocaleTimeString()} on ${s.createdBy}`,
        new Date(s.lastSeenAt).toLocaleTimeString(),
        `${describeAgent(s.userAgent)} · ${s.ip}`,
      ].map((text) => {
        const cell = document.createElement('td');
        cell.textContent = text;
        return cell;
      });
      const action = document.createElement('td');
      if (s.current) {
        action.textContent = 'this device';
      } else {
        const revoke = document.createElement('button');
        revoke.type = 'button';
        revoke.className = 'secondary';
        revoke.textContent = 'Revoke';
        revoke.setAttribute('aria-label', `Revoke the session ${s.handle.slice(0, 8)} created on ${s.createdBy}`);
        revoke.addEventListener('click', () => void revokeDevice(s.handle));
        action.append(revoke);
      }
      row.append(...cells, action);
      return row;
    }),
  );
}

/** "Chrome on Linux" out of a user agent string; the raw string stays in the cell's title. */
function describeAgent(agent: string): string {
  const browser = /(Edg|Firefox|Chrome|Safari|curl|k6|node)\b/i.exec(agent)?.[1] ?? (agent ? 'another client' : 'unknown');
  const os = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(agent)?.[1];
  return os ? `${browser} on ${os}` : browser;
}

function renderInstances(now = Date.now()): void {
  const seen = strip.instances();
  if (seen.length === 0) return;
  const items = seen.map(({ id, lastSeen }) => {
    const span = document.createElement('span');
    span.className = now - lastSeen > RECENT_MS ? 'instance quiet' : 'instance';
    span.dataset.instance = id;
    span.append(instanceName(id));
    if (now - lastSeen > RECENT_MS) span.append(` (silent for ${Math.round((now - lastSeen) / 1000)} s)`);
    return span;
  });
  ui.clusterInstances.replaceChildren(...items);
}

function renderCluster(view: ClusterView): void {
  storeMode = view.store;
  ui.clusterInstance.replaceChildren(instanceName(view.instance));
  ui.clusterSessions.textContent = view.store === 'memory' ? `${view.sessions} on this instance` : `${view.sessions} in Redis`;
  const redis = view.redis;
  ui.clusterRedis.hidden = !redis;
  ui.clusterShardsFacts.hidden = !view.redisCluster;
  if (view.redisCluster) {
    renderRedisCluster(view.redisCluster);
    return;
  }
  if (!redis) {
    ui.clusterStore.textContent = 'memory: this instance only (no other instance can see its sessions)';
    return;
  }
  ui.clusterStore.textContent = redis.mode === 'sentinel' ? 'Redis, found through Sentinel' : 'Redis (standalone)';
  ui.redisNode.textContent = `${redis.role} at ${redis.connectedTo ?? 'unknown address'}`;
  ui.redisOffset.textContent = String(redis.replicationOffset);
  ui.redisReplicas.replaceChildren(
    ...(redis.replicas.length === 0 ? [listItem('none attached')] : redis.replicas.map((r) => {
      const behind = Math.max(0, redis.replicationOffset - r.offset);
      return listItem(`${r.address}: ${r.state}, acknowledged offset ${r.offset} (${behind} bytes behind the primary), last ack ${r.lag} s ago`);
    })),
  );
  ui.sentinelPrimary.textContent = view.sentinel
    ? (view.sentinel.primary ?? 'no Sentinel answered') + (view.sentinel.answeredBy ? ` (asked ${view.sentinel.answeredBy})` : '')
    : 'no Sentinel configured';
  ui.redisAof.textContent = redis.aof.enabled ? `on (last write: ${redis.aof.lastWrite ?? 'unknown'})` : 'off';
}

function renderRedisCluster(cluster: RedisClusterView): void {
  ui.clusterStore.textContent = `Redis Cluster, ${cluster.shards.length} primaries (cluster state: ${cluster.state})`;
  ui.clusterShards.replaceChildren(...cluster.shards.map((shard) => {
    const slots = shard.slots.map(([from, to]) => `${from}–${to}`).join(', ');
    const replicas = shard.replicas.map((r) => `${r.address} (${r.health})`).join(', ') || 'no replica';
    return listItem(`${shard.primary ?? 'no primary'}: slots ${slots}; replicas ${replicas}`);
  }));
  ui.sessionSlot.textContent = cluster.thisSession
    ? `slot ${cluster.thisSession.slot}, held by ${cluster.thisSession.primary ?? 'no primary right now'}`
    : 'no session';
}

function listItem(text: string): HTMLLIElement {
  const item = document.createElement('li');
  item.textContent = text;
  return item;
}

// --- actions -----------------------------------------------------------------------------------------------

async function login(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  ui.loginError.textContent = '';
  if (!ui.username.value || !ui.password.value) {
    ui.loginError.textContent = 'Enter a username and a password.';
    return;
  }
  ui.loginButton.disabled = true;
  const result = await api.request<LoginResult>('POST', '/api/login', { username: ui.username.value, password: ui.password.value, remember: ui.rememberMe.checked });
  ui.loginButton.disabled = false;
  noteHealth(result);
  if (!result.ok) {
    ui.loginError.textContent = result.error.message;
    return;
  }
  ui.password.value = '';
  ui.lost.hidden = true;
  session = null; // a fresh session: its counter starts again
  remember(null);
  adopt(result.body.session, result.servedBy);
  api.csrfToken = result.body.csrfToken;
  render();
  await loadDevices();
  activityChanged();
  ui.visitButton.focus();
}

async function logout(): Promise<void> {
  const result = await api.request('POST', '/api/logout');
  noteHealth(result);
  if (!result.ok && result.status !== 401) return;
  session = null;
  api.csrfToken = '';
  remember(null);
  render();
  ui.username.focus();
}

async function countVisit(): Promise<ApiResult<{ visits: number }>> {
  const result = await withSession<{ visits: number }>('POST', '/api/visits');
  if (result.ok && session) {
    session.visits = Math.max(session.visits, result.body.visits);
    render();
    activityChanged();
  }
  return result;
}

/** N requests one after another, so round robin deals them out in turn to every instance. */
async function hammer(): Promise<void> {
  ui.hammerButton.disabled = true;
  // The last run's result goes at once: until the first answer it would read as this run's.
  ui.hammerStatus.textContent = `0 of ${HAMMER_REQUESTS} sent…`;
  const servedBy = new Map<string, number>();
  let failed = 0;
  for (let i = 0; i < HAMMER_REQUESTS && session; i++) {
    const result = await countVisit();
    if (result.servedBy) servedBy.set(result.servedBy, (servedBy.get(result.servedBy) ?? 0) + 1);
    if (!result.ok) failed += 1;
    ui.hammerStatus.textContent = `${i + 1} of ${HAMMER_REQUESTS} sent…`;
  }
  const spread = [...servedBy].sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => `${id} ×${n}`).join(', ');
  ui.hammerStatus.textContent = `Served by ${spread || 'nobody'}${failed ? `; ${failed} failed` : ''}.`;
  ui.hammerButton.disabled = !session;
}

async function addToCart(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  ui.cartError.textContent = '';
  const quantity = Number(ui.quantity.value);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
    ui.cartError.textContent = 'The quantity is a whole number from 1 to 99.';
    return;
  }
  const result = await withSession<{ items: CartItem[] }>('POST', '/api/cart/items', { productId: ui.product.value, quantity });
  applyCart(result);
}

async function removeFromCart(productId: string): Promise<void> {
  ui.cartError.textContent = '';
  applyCart(await withSession<{ items: CartItem[] }>('DELETE', `/api/cart/items/${encodeURIComponent(productId)}`));
}

function applyCart(result: ApiResult<{ items: CartItem[] }>): void {
  if (!session) return;
  if (result.ok) {
    session.cart = { items: result.body.items };
    renderCart(session.cart.items);
    activityChanged();
  } else {
    ui.cartError.textContent = result.error.message;
  }
}

async function revokeDevice(handle: string): Promise<void> {
  ui.devicesError.textContent = '';
  const result = await withSession('DELETE', `/api/sessions/${encodeURIComponent(handle)}`);
  if (!result.ok && session) ui.devicesError.textContent = result.error.message;
  if (session) await loadDevices();
}

async function revokeOthers(): Promise<void> {
  ui.devicesError.textContent = '';
  const result = await withSession('DELETE', '/api/sessions');
  // A sensitive action past the re-authentication window: ask for the password, then try again (reauthenticate).
  ui.reauthForm.hidden = result.ok || result.error.error !== 'reauth_required';
  if (!ui.reauthForm.hidden) ui.reauthPassword.focus();
  else if (!result.ok && session) ui.devicesError.textContent = result.error.message;
  if (session) await loadDevices();
}

async function reauthenticate(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  ui.devicesError.textContent = '';
  const result = await withSession('POST', '/api/reauth', { password: ui.reauthPassword.value });
  ui.reauthPassword.value = '';
  if (!result.ok) {
    if (session) ui.devicesError.textContent = result.error.message;
    return;
  }
  ui.reauthForm.hidden = true;
  activityChanged();
  await revokeOthers();
}

// --- wiring ------------------------------------------------------------------------------------------------

ui.loginForm.addEventListener('submit', (event) => void login(event));
ui.loginForm.querySelectorAll<HTMLButtonElement>('button[data-username]').forEach((button) => {
  button.addEventListener('click', () => {
    ui.username.value = button.dataset.username ?? '';
    ui.password.value = button.dataset.password ?? '';
    ui.loginButton.focus();
  });
});
ui.logoutButton.addEventListener('click', () => void logout());
ui.visitButton.addEventListener('click', () => void countVisit());
ui.hammerButton.addEventListener('click', () => void hammer());
ui.cartForm.addEventListener('submit', (event) => void addToCart(event));
ui.revokeOthers.addEventListener('click', () => void revokeOthers());
ui.reauthForm.addEventListener('submit', (event) => void reauthenticate(event));

setInterval(() => {
  renderCountdowns();
  renderInstances();
  strip.renderLegend();
}, 500);

void (async () => {
  // The store mode first: it decides how a session lost before this load is described.
  await loadCluster();
  void loadStats();
  if ((await loadSession()).ok) {
    await loadDevices();
    await loadActivity();
  }
  document.body.dataset.ready = 'true';
  setTimeout(() => void poll(), POLL_MS);
  live.start();
})();
