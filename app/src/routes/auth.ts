import { Router } from 'express';
import { ipKeyGenerator, rateLimit, type Store as RateLimitStore } from 'express-rate-limit';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import { z } from 'zod';
import { HttpError, unauthorized } from '../errors';
import type { RedisClient } from '../redis';
import type { ReauthResult } from '../http-contract';
import { activityOf } from '../session/activity';
import { endedSessionError, requireCsrf, requireSession } from '../session/guards';
import { endCurrentSession, startSession } from '../session/lifecycle';
import { refreshSnapshot } from '../session/snapshot';
import type { LiveSession, SessionDeps } from '../session/types';
import { recentLogin, sessionView } from '../session/view';
import { authenticate, userById } from '../users';
import { parse } from '../validate';

const credentials = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  // true: a long-lived session (the `remembered` lifetime class); absent or false: a standard one.
  remember: z.boolean().optional(),
});

const reauthBody = z.strictObject({ password: z.string().min(1).max(256) });

/**
 * rate-limit-redis loads its Lua scripts once, at start-up; if Redis was unreachable then, it keeps the
 * failed load forever. A failed load is noted and retried by the next attempt before it counts, so the
 * first login after Redis returns is counted and answered, not refused with a 503. (A script missing from
 * a restarted or promoted Redis is rate-limit-redis's own NOSCRIPT case: it loads it again itself.)
 * While Redis is unreachable the reload fails too, and the attempt gets a 503: login fails closed.
 */
class RecoveringRateLimitStore extends RateLimitRedisStore {
  private loadFailed = false;

  override loadIncrementScript(key?: string): Promise<string> {
    return this.noteFailure(super.loadIncrementScript(key));
  }

  override loadGetScript(key?: string): Promise<string> {
    return this.noteFailure(super.loadGetScript(key));
  }

  override async increment(key: string) {
    if (this.loadFailed) {
      this.loadFailed = false;
      this.incrementScriptSha = this.loadIncrementScript();
      this.getScriptSha = this.loadGetScript();
    }
    return super.increment(key);
  }

  private noteFailure(loading: Promise<string>): Promise<string> {
    // Noted here, and so never an unhandled rejection; whoever awaits the load still gets the error.
    loading.catch(() => {
      this.loadFailed = true;
    });
    return loading;
  }
}

/**
 * On a cluster each node has its own script cache: a script is loaded into every node, so the primary that
 * holds a counter's slot, now or after a failover, has it. Every other command goes where its key lives.
 */
async function sendToCluster(cluster: Cluster, [command, ...args]: string[]): Promise<never> {
  if (command?.toUpperCase() === 'SCRIPT') {
    const [sha] = await Promise.all(cluster.nodes('all').map((node) => node.call(command, ...args)));
    return sha as never;
  }
  return cluster.call(command!, ...args) as Promise<never>;
}

function loginLimiterStore(redis: RedisClient | undefined): RateLimitStore | undefined {
  if (!redis) return undefined; // express-rate-limit's in-process store: the sticky variant keeps nothing shared
  const prefix = 'login-failures:';
  if (redis instanceof Cluster) {
    return new RecoveringRateLimitStore({ prefix, sendCommandCluster: ({ command }) => sendToCluster(redis, command) });
  }
  return new RecoveringRateLimitStore({ prefix, sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<never> });
}

export function authRoutes(deps: SessionDeps & { redis?: RedisClient; logger: Logger }): Router {
  const { config } = deps;
  const router = Router();

  const logLimiterProblem = (err: unknown, message?: string) =>
    deps.logger.warn({ err: err instanceof Error ? err.message : err }, message ?? 'login rate limiter');

  // Counts failed logins per client address and account, across every instance sharing the store.
  const loginLimiter = rateLimit({
    windowMs: config.login.windowMs,
    limit: config.login.maxFailures,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: loginLimiterStore(deps.redis),
    // Its store errors (Redis down at start-up) go to the app's log, not to the console.
    logger: { error: logLimiterProblem, warn: logLimiterProblem },
    keyGenerator: (req) => {
      // A reauth names no user: it is the session's, and its failures count against that account too.
      const sessionUser = (req.session as Partial<LiveSession> | undefined)?.userId;
      const username = typeof req.body?.username === 'string' ? req.body.username.toLowerCase().slice(0, 64) : (userById(sessionUser ?? '')?.username ?? '');
      return `${ipKeyGenerator(req.ip ?? '')}|${username}`;
    },
    handler: (_req, _res, _next, options) => {
      throw new HttpError(options.statusCode, 'too_many_attempts', 'too many failed logins; wait and try again');
    },
  });

  router.post('/login', loginLimiter, async (req, res) => {
    const { username, password, remember } = parse(credentials, req.body);
    const user = await authenticate(username, password);
    if (!user) throw unauthorized('invalid_credentials', 'unknown user or wrong password');
    const live = await startSession(deps, req, user, remember === true);
    refreshSnapshot(config, req, res, live, new Date(live.cookie.expires!).getTime());
    const session = sessionView(req, res, config);
    res.json({ user, session, csrfToken: session.csrfToken });
  });

  /*
   * The password checked again for the sensitive routes (requireRecentLogin). The session id stays: the
   * user's rights do not change (the session already holds all of them; only the check's time moves), the
   * login that set them issued a fresh id already, and a new id would strand requests the other tabs have in
   * flight with the old cookie and change the handle the user's other devices list.
   */
  router.post('/reauth', requireSession(deps), requireCsrf(config), loginLimiter, async (req, res) => {
    const { password } = parse(reauthBody, req.body);
    const user = userById((req.session as LiveSession).userId)!; // requireSession checked it exists
    if (!(await authenticate(user.username, password))) throw unauthorized('invalid_credentials', 'wrong password');
    const now = Date.now();
    const entry = activityOf(req, config, 'reauth');
    if (!(await deps.store.reauthenticate(req.sessionID, now, { ...entry, t: now }))) throw await endedSessionError(deps, req, res, req.sessionID);
    res.json(recentLogin(now, config) satisfies ReauthResult);
  });

  router.post('/logout', requireSession(deps), async (req, res) => {
    await endCurrentSession(deps, req, res, 'logged_out');
    res.status(204).end();
  });

  return router;
}
