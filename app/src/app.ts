import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import session from 'express-session';
import onHeaders from 'on-headers';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from './config';
import { rejectCrossSite } from './cross-site';
import { HttpError } from './errors';
import { RequestFigures } from './live/figures';
import { createLiveView } from './live/live-view';
import { createMetrics, registerStatsMetrics, type Metrics } from './metrics';
import { isStoreUnavailableError, redisMode, type RedisClient } from './redis';
import { adminRoutes } from './routes/admin';
import { authRoutes } from './routes/auth';
import { readStats, statsRoutes } from './routes/stats';
import { cartRoutes } from './routes/cart';
import { clusterRoutes } from './routes/cluster';
import { healthRoutes } from './routes/health';
import { liveRoutes } from './routes/live';
import { currentSessionRoutes } from './routes/current-session';
import { devicesRoutes } from './routes/devices';
import { sessionCookieOptions } from './session/cookie';
import { newCookieMaxAge } from './session/expiry';
import { instrumentStore } from './session/instrument';
import { SessionKeys } from './session/keys';
import { WriteNotReplicatedError, type ReplicatedWrites } from './session/durability';
import { sessionIdFor } from './session/lifecycle';
import { MemorySessionStore } from './session/memory-store';
import { RedisSessionStore } from './session/redis-store';
import { degradedSessionRead } from './session/snapshot';
import type { SessionDeps, SessionStore } from './session/types';

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  /** Required when config.store is 'redis'; the caller owns it (connects and quits it). */
  redis?: RedisClient;
  /**
   * Required when SESSION_WRITE_DURABILITY=replicated: a second client from the same factory, for the
   * session writes and their WAITs alone (session/durability.ts); the caller owns it too.
   */
  writeRedis?: RedisClient;
  /** Process-wide metrics (CPU, memory, event loop) belong to a real server, not to a test app. */
  processMetrics?: boolean;
  /** The live view's heartbeat (on unless told): tests that count the session path's Redis commands turn it off. */
  heartbeat?: boolean;
}

export interface ClusterApp {
  app: Express;
  store: SessionStore;
  metrics: Metrics;
  /** Readiness fails from now on; requests are still served. */
  startDraining(): void;
  /** Releases what the app holds itself (timers, Sentinel probes); not the Redis client. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
// app/public, seen from app/src (tsx, jest) or from dist/ (the build).
const PUBLIC_DIR = [path.resolve(__dirname, '../public'), path.resolve(__dirname, '../app/public')].find((dir) => existsSync(dir));

/** Builds the app; never listens (server.ts does). */
export function createApp({ config, logger, redis, writeRedis, processMetrics = false, heartbeat = true }: AppDeps): ClusterApp {
  if (config.store === 'redis' && !redis) throw new Error('createApp: a Redis client is required when SESSION_STORE=redis');
  const metrics = createMetrics(config.instanceId, processMetrics);
  const cookie = sessionCookieOptions(config);
  const keys = new SessionKeys(config.session.tagSecret);
  const replicated = replicatedWrites(config, writeRedis, metrics, logger);
  const statsFailed = (err: unknown) => {
    metrics.storeErrors.inc({ operation: 'stats' });
    logger.warn({ err: (err as Error).message }, 'session statistics not updated');
  };
  const store = instrumentStore(config.store === 'redis' ? new RedisSessionStore(redis!, cookie, keys, replicated, statsFailed) : new MemorySessionStore(), metrics);
  registerStatsMetrics(metrics, () => readStats({ config, store }));
  let draining = false;
  const isDraining = () => draining;
  const figures = new RequestFigures();
  const live = createLiveView({
    instanceId: config.instanceId,
    store,
    figures,
    isDraining,
    logger,
    redis,
    redisMode: redisMode(config.redis),
    countCommands: (n) => metrics.liveRedisCommands.inc(n),
    heartbeat,
  });

  const app = express();
  app.disable('x-powered-by');
  // No ETag (a SHA-1 of every body) on the API's answers: they are Cache-Control: no-store, never revalidated.
  // The dashboard's files keep theirs: serve-static sets its own.
  app.set('etag', false);
  // Behind nginx the client address and scheme come from X-Forwarded-*; trust exactly that many hops.
  app.set('trust proxy', config.trustProxy);

  app.use(stampResponse(config, isDraining));
  app.use(requestLogger(logger));
  app.use(flushLogAfterChanges(logger));
  app.use(recordRequest(metrics, figures));
  app.use(securityHeaders());

  app.use(healthRoutes(store, metrics.registry, isDraining));
  if (PUBLIC_DIR) app.use(dashboardFiles(PUBLIC_DIR));
  app.use('/api', liveRoutes(live));

  const api = apiRouter({ config, store, metrics }, { redis, logger, cookie, keys });
  app.use('/api', api.router);

  // The 404 and error handlers go last; error handlers take four arguments.
  app.use((req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(store));

  return {
    app,
    store,
    metrics,
    startDraining: () => {
      if (!draining) live.noteDraining();
      draining = true;
    },
    close: async () => {
      await live.close();
      api.close();
      await store.close();
    },
  };
}

/** SESSION_WRITE_DURABILITY=replicated: what the Redis store waits for, and who hears of a write not replicated in time. */
function replicatedWrites(config: Readonly<Config>, client: RedisClient | undefined, metrics: Metrics, logger: Logger): ReplicatedWrites | undefined {
  const { writes } = config.session;
  if (writes.durability !== 'replicated') return undefined;
  if (!client) throw new Error('createApp: SESSION_WRITE_DURABILITY=replicated needs a Redis client of its own for the writes (writeRedis)');
  return {
    client,
    replicas: writes.replicas,
    waitMs: writes.waitMs,
    notReplicated: (err) => {
      metrics.sessionWritesNotReplicated.inc({ operation: err.operation });
      logger.warn({ operation: err.operation, acknowledged: err.acknowledged, required: err.required, waitMs: err.waitMs }, 'session write not replicated in time');
    },
  };
}

function stampResponse(config: Readonly<Config>, isDraining: () => boolean): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Served-By', config.instanceId);
    // A stopping app answers what still reaches it, or was in flight when it began to stop, and closes that
    // connection after the answer: the header tells the proxy not to reuse it, so the proxy never writes a
    // request into a connection the app is closing. Decided when the headers go out, not when the request came.
    onHeaders(res, () => {
      if (isDraining()) res.setHeader('Connection', 'close');
    });
    next();
  };
}

function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Never log cookies, tokens or bodies: a session id in a log line is a session handed out.
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The log's destination is buffered (server.ts): the line of every request that may have changed state
 * (login, logout, revocation, any write) or failed (4xx, 5xx) is written out as soon as it is logged, so a
 * crash or a kill right after the answer loses no such line; only successful reads' lines wait, at most a
 * second. Goes after requestLogger: its own 'finish' listener, which writes the line, runs first.
 */
function flushLogAfterChanges(logger: Logger): RequestHandler {
  return (req, res, next) => {
    res.once('finish', () => {
      if (!READS.has(req.method) || res.statusCode >= 400) logger.flush();
    });
    next();
  };
}

function securityHeaders(): RequestHandler {
  return helmet({
    // The demo is served over plain http on loopback: upgrading requests or pinning https would break it.
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    strictTransportSecurity: false,
  });
}

/**
 * The dashboard page is revalidated on every load (its ETag keeps that cheap), so a new deployment shows
 * at once; its scripts, stylesheet and icon may be reused for 5 minutes.
 */
function dashboardFiles(dir: string): RequestHandler {
  const files = express.static(dir, {
    maxAge: '5m',
    setHeaders: (res, file) => {
      if (file.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
    },
  });
  // No page lives under /api: an API request goes on without the fs.stat serve-static would make for it.
  return (req, res, next) => (req.path.startsWith('/api/') ? next() : files(req, res, next));
}

/** Everything under /api: never cached, cross-site writes refused, JSON bodies, the session, the routes. */
function apiRouter(deps: SessionDeps, { redis, logger, cookie, keys }: Pick<AppDeps, 'redis' | 'logger'> & { cookie: SessionCookie; keys: SessionKeys }): { router: Router; close: () => void } {
  const { config, store } = deps;
  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Before the body is read or a session loaded: a request another site made is refused untouched.
  api.use(rejectCrossSite);
  api.use(jsonBodies());
  api.use(sessionMiddleware(config, store, cookie, keys));
  api.use(authRoutes({ ...deps, redis, logger }));
  api.use(currentSessionRoutes(deps));
  api.use(cartRoutes(deps));
  api.use(devicesRoutes(deps));
  api.use(adminRoutes(deps));
  api.use(statsRoutes(deps));
  const cluster = clusterRoutes(config, store, redis);
  api.use(cluster.router);
  // REDIS_DOWN_POLICY=read-only: a session read the store could not answer, answered from its snapshot.
  if (config.session.redisDown.policy === 'read-only') api.use(degradedSessionRead(deps));
  return { router: api, close: cluster.close };
}

type SessionCookie = ReturnType<typeof sessionCookieOptions>;

/** JSON bodies of the requests that carry one: a read's body means nothing here, so it is not parsed (nor its absence checked). */
function jsonBodies(): RequestHandler {
  const json = express.json({ limit: '16kb', strict: true });
  return (req, res, next) => (READS.has(req.method) ? next() : json(req, res, next));
}

/** `cookie`: the options the store was given too, so it leaves out of every blob what they say. */
function sessionMiddleware(config: Readonly<Config>, store: SessionStore, cookie: SessionCookie, keys: SessionKeys): RequestHandler {
  return session({
    name: config.session.cookieName,
    store,
    // Each session id carries its user's hash tag (keys.ts), so a cluster keeps a user's keys in one slot.
    genid: sessionIdFor(keys),
    secret: config.session.secrets,
    // Only a login writes a whole session; everything after goes through the store's atomic operations.
    resave: false,
    saveUninitialized: false,
    // The app re-issues the cookie itself when it extends a session (guards.ts), so the cookie's
    // expiry and the Redis TTL move together, and only when they need to.
    rolling: false,
    cookie: { ...cookie, maxAge: newCookieMaxAge(config.session) },
  });
}

// Probes, not traffic: left out of the live view's figures.
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

function recordRequest(metrics: Metrics, figures: RequestFigures): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    const probe = PROBES.has(req.path);
    res.on('finish', () => {
      // Route patterns, never raw paths, keep the label set bounded.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'other';
      const seconds = stop({ route, method: req.method });
      if (!probe) figures.record(seconds * 1000, res.statusCode);
      metrics.httpRequests.inc({ route, method: req.method, status: String(res.statusCode) });
    });
    next();
  };
}

// body-parser's error types → the codes a client can act on.
const BODY_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'invalid_json', 'the body is not valid JSON'],
  'entity.too.large': [413, 'payload_too_large', 'the body is larger than 16 KB'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'unsupported content encoding'],
  'charset.unsupported': [415, 'unsupported_charset', 'unsupported charset; send UTF-8'],
};

function errorHandler(store: SessionStore): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const bodyError = typeof err?.type === 'string' ? BODY_ERRORS[err.type] : undefined;
    let status: number;
    let body: { error: string; message: string; details?: unknown };
    if (err instanceof HttpError) {
      status = err.status;
      body = { error: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
    } else if (bodyError) {
      [status, body] = [bodyError[0], { error: bodyError[1], message: bodyError[2] }];
    } else if (err instanceof WriteNotReplicatedError) {
      // Not redis_unavailable: the primary answered, and may hold the write (docs/http-contract.md).
      status = 503;
      const details = { acknowledged: err.acknowledged, required: err.required, waitMs: err.waitMs };
      body = { error: 'write_not_replicated', message: 'the change reached the primary store but not its replicas in time; its outcome is unknown', details };
      res.setHeader('Retry-After', '1');
    } else if (isStoreUnavailableError(err) || !store.isReady()) {
      status = 503;
      body = { error: 'redis_unavailable', message: 'the session store cannot be reached; try again shortly' };
      res.setHeader('Retry-After', '1');
    } else if (Number.isInteger(err?.status) && err.status >= 400 && err.status < 500) {
      status = err.status; // e.g. a malformed %-escape in the path
      body = { error: 'bad_request', message: String(err.message) };
    } else {
      status = 500;
      body = { error: 'internal_error', message: 'something went wrong on our side' };
    }
    // Name, message and stack only: an ioredis reply error carries the command's arguments, which hold
    // `sess:<raw id>` and, for a write, the whole session.
    if (status >= 500) req.log.error({ err: { type: err?.name, message: err?.message, stack: err?.stack } }, 'request failed');
    res.status(status).json(body);
  };
}
