import { createHash } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import { Cluster } from 'ioredis';
import type { Request } from 'express';
import type { CookieOptions, Session, SessionData } from 'express-session';
import type { RedisClient } from '../redis';
import { WriteNotReplicatedError, type ReplicatedWrites } from './durability';
import { cookieExpiry, storeExpiry } from './expiry';
import { ACTIVITY_ENTRIES, ACTIVITY_RETENTION_MS, type ActivityEntry } from './activity';
import { sessionHandle } from './handle';
import { LOGIN_RATE_WINDOW_MS, STATS_WINDOW_MS, statsReasonOf, type RawStats } from './stats';
import { SESSION_PREFIX, SessionKeys, activityKey, activityKeyOf, appliedWriteKey, endedKey, newWriteId, sessionKey } from './keys';
import type { Cart, CartUpdate, EndReason, SessionStore, StoredSession } from './types';

/*
 * One blob per session, one sorted set per user, one marker per ended session, one short-lived record per
 * applied visit or cart change: keys.ts names them.
 */

/*
 * Each script reads, changes and writes the session blob inside Redis, so two requests on one
 * session cannot interleave (Redis runs a script to completion before anything else).
 * KEEPTTL: a data change never moves the expiry; only `extend` does.
 *
 * A visit and a cart change add to what is there, so neither may run twice. But ioredis sends again the
 * commands in flight on a connection that drops once it has reconnected (autoResendUnfulfilledCommands), and a
 * Cluster client a command whose node connection closed: a script that ran, whose reply was lost, comes again.
 * So each carries a random write id; the script records the write it applied, with its result, under
 * KEYS[2] (keys.ts, appliedWriteKey: the session's slot), and a copy that finds the record returns that
 * result and changes nothing. The record is written by the same script as the change, so Redis, its AOF and its
 * replica hold both or neither (docs/reliability.md, "Writes in flight on a dropped connection").
 */
/*
 * Every script that changes a session also writes its activity entry (activity.ts) into the session's log,
 * the script's last key, with its last two arguments: the entry, and how long the log outlives the session.
 * The log keeps the newest ACTIVITY_ENTRIES and expires that long after the session's key does.
 */
const LOG_ACTIVITY = `
  local function log_activity(log, entry, expires_at)
    redis.call('LPUSH', log, entry)
    redis.call('LTRIM', log, 0, ${ACTIVITY_ENTRIES - 1})
    if expires_at > 0 then redis.call('PEXPIREAT', log, expires_at) end
  end
  -- for a change that keeps the session's TTL: the log lives on past the session's own expiry
  local function log_beside(log, session, entry, retention)
    local expires_at = redis.call('PEXPIRETIME', session)
    log_activity(log, entry, expires_at > 0 and expires_at + tonumber(retention) or 0)
  end`;

const SCRIPTS = {
  // KEYS: session, applied-write record, activity log. ARGV: the record's life (ms), entry, retention (ms)
  incrementVisits: { keys: 3, lua: `${LOG_ACTIVITY}
    local done = redis.call('GET', KEYS[2])
    if done then return tonumber(done) end
    local raw = redis.call('GET', KEYS[1])
    if not raw then return false end
    local s = cjson.decode(raw)
    s.visits = (tonumber(s.visits) or 0) + 1
    redis.call('SET', KEYS[1], cjson.encode(s), 'KEEPTTL')
    redis.call('SET', KEYS[2], s.visits, 'PX', ARGV[1])
    log_beside(KEYS[3], KEYS[1], ARGV[2], ARGV[3])
    return s.visits` },
  // KEYS: session, applied-write record, activity log. ARGV: productId, quantity to add (0 = remove the item),
  // max serialized bytes, the record's life (ms), entry, retention (ms)
  updateCart: { keys: 3, lua: `${LOG_ACTIVITY}
    local done = redis.call('GET', KEYS[2])
    if done then return {'ok', done} end
    local raw = redis.call('GET', KEYS[1])
    if not raw then return {'missing'} end
    local s = cjson.decode(raw)
    if type(s.cart) ~= 'table' then s.cart = {} end
    local add = tonumber(ARGV[2])
    if add == 0 then
      s.cart[ARGV[1]] = nil
    else
      s.cart[ARGV[1]] = (tonumber(s.cart[ARGV[1]]) or 0) + add
    end
    local out = cjson.encode(s)
    if #out > tonumber(ARGV[3]) then return {'too_large', #out} end
    redis.call('SET', KEYS[1], out, 'KEEPTTL')
    local cart = cjson.encode(s.cart)
    redis.call('SET', KEYS[2], cart, 'PX', ARGV[4])
    log_beside(KEYS[3], KEYS[1], ARGV[5], ARGV[6])
    return {'ok', cart}` },
  // KEYS: session, activity log. ARGV: when the password was checked (ms), entry, retention (ms). Setting a time
  // is idempotent: a resent copy changes nothing but logs the reauth twice.
  reauthenticate: { keys: 2, lua: `${LOG_ACTIVITY}
    local raw = redis.call('GET', KEYS[1])
    if not raw then return 0 end
    local s = cjson.decode(raw)
    s.auth = tonumber(ARGV[1])
    redis.call('SET', KEYS[1], cjson.encode(s), 'KEEPTTL')
    log_beside(KEYS[2], KEYS[1], ARGV[2], ARGV[3])
    return 1` },
  // KEYS: session, user index, activity log. ARGV: expiresAt (ms), lastSeenAt (ms), sid, expires as ISO text,
  // entry, retention (ms)
  extend: { keys: 3, lua: `${LOG_ACTIVITY}
    local raw = redis.call('GET', KEYS[1])
    if not raw then
      redis.call('ZREM', KEYS[2], ARGV[3])
      return 0
    end
    local s = cjson.decode(raw)
    if s.expires ~= nil then -- a number, or cjson.null for a cookie without expiry: it gets this one
      s.expires = tonumber(ARGV[1])
      s.seen = tonumber(ARGV[2])
    else -- stored before the compact shape: express-session's own JSON (see compactSerializer)
      s.cookie.expires = ARGV[4]
      s.lastSeenAt = tonumber(ARGV[2])
    end
    redis.call('SET', KEYS[1], cjson.encode(s), 'PXAT', ARGV[1])
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
    -- the index lives as long as its longest-lived session (PEXPIRETIME is -1 when no TTL is set)
    if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[1]) then
      redis.call('PEXPIREAT', KEYS[2], ARGV[1])
    end
    log_activity(KEYS[3], ARGV[5], tonumber(ARGV[1]) + tonumber(ARGV[6]))
    return 1` },
  // KEYS: user index, activity log. ARGV: sid, expiresAt (ms), now (ms), entry (the login), retention (ms)
  register: { keys: 2, lua: `${LOG_ACTIVITY}
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
    if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then
      redis.call('PEXPIREAT', KEYS[1], ARGV[2])
    end
    log_activity(KEYS[2], ARGV[4], tonumber(ARGV[2]) + tonumber(ARGV[5]))
    return 1` },
  // The statistics (stats.ts). KEYS: keys.ts STATS_KEY_NAMES. ARGV: operation (open, extend, close, read), now,
  // how long ended sessions' durations and logins are kept, the login rate's window (all ms), then the
  // operation's own: open handle, user, createdAt, expiresAt, absoluteExpiresAt, instance; extend handle,
  // expiresAt; close handle, reason. Every call first closes the sessions whose expiry has passed.
  stats: { keys: 7, lua: `
    local live, meta, users, created, ended, durations, logins = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
    local op, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
    local function close(handle, reason, at)
      local m = redis.call('HGET', meta, handle)
      if redis.call('ZREM', live, handle) == 0 then return end
      redis.call('HINCRBY', ended, reason, 1)
      if not m then return end
      redis.call('HDEL', meta, handle)
      local user, created_at = string.match(m, '^(.*)|(%d+)|%d+$')
      if redis.call('HINCRBY', users, user, -1) <= 0 then redis.call('HDEL', users, user) end
      redis.call('ZADD', durations, at, handle .. ':' .. (at - tonumber(created_at)))
    end
    local expired = redis.call('ZRANGEBYSCORE', live, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
    for i = 1, #expired, 2 do
      local handle, at = expired[i], tonumber(expired[i + 1])
      local m = redis.call('HGET', meta, handle)
      local absolute = m and tonumber(string.match(m, '|(%d+)$')) or 0
      close(handle, at >= absolute and 'absolute_expiry' or 'idle_expiry', at)
    end
    redis.call('ZREMRANGEBYSCORE', durations, '-inf', now - window)
    redis.call('ZREMRANGEBYSCORE', logins, '-inf', now - window)
    if op == 'open' then
      if redis.call('ZADD', live, ARGV[8], ARGV[5]) == 1 then redis.call('HINCRBY', users, ARGV[6], 1) end
      redis.call('HSET', meta, ARGV[5], ARGV[6] .. '|' .. ARGV[7] .. '|' .. ARGV[9])
      redis.call('HINCRBY', created, ARGV[10], 1)
      redis.call('ZADD', logins, now, ARGV[5])
    elseif op == 'extend' then
      redis.call('ZADD', live, 'XX', ARGV[6], ARGV[5])
    elseif op == 'close' then
      close(ARGV[5], ARGV[6], now)
    else
      return { redis.call('ZCARD', live), redis.call('HLEN', users), redis.call('HGETALL', created), redis.call('HGETALL', ended),
        redis.call('ZRANGEBYSCORE', durations, now - window, '+inf'), redis.call('ZCOUNT', logins, now - tonumber(ARGV[4]), '+inf') }
    end
    return 1` },
} as const;

type ScriptName = keyof typeof SCRIPTS;

const SCRIPT_SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([name, { lua }]) => [name, createHash('sha1').update(lua).digest('hex')])) as Record<ScriptName, string>;
const SCRIPT_BODIES = new Map(Object.entries(SCRIPTS).map(([name, { lua }]) => [SCRIPT_SHAS[name as ScriptName], lua]));

/** One command of a write, as ioredis's pipeline takes it: name, then arguments. */
type Command = [name: string, ...args: (string | number)[]];

/** A script by its digest: Redis keeps every script it ran, so the body goes only where Redis lacks it (NOSCRIPT). */
function script(name: ScriptName, ...args: (string | number)[]): Command {
  return ['evalsha', SCRIPT_SHAS[name], SCRIPTS[name].keys, ...args];
}

function withScriptBody(command: Command): Command {
  const [name, sha, ...rest] = command;
  return name === 'evalsha' ? ['eval', SCRIPT_BODIES.get(String(sha))!, ...rest] : command;
}

type Results = [error: Error | null, reply: unknown][];

/**
 * A session write refused before it was sent: the connection was not ready. ioredis would queue it while it
 * reconnects, and its commandTimeout would answer the request 503 — but the queued write would still go out
 * if the connection came back before the queue was flushed (seen: a visit answered 503 applied 1.2 s later).
 * A write either goes out now or not at all; reads may wait in the queue.
 */
export class WriteNotSentError extends Error {
  override name = 'WriteNotSentError';
  constructor(operation: string) {
    super(`session write ${operation} not sent: the connection to Redis is not ready`);
  }
}

/*
 * How long an applied write's record lives: longer than a copy could still come. ioredis sends the copies as
 * soon as its next connection is ready, after its first retry (100 ms) or, across a Sentinel failover, once the
 * new primary is named (about 7 s in docs/reliability.md); a copy arriving after the record is gone would apply
 * again. The cost: one small key per write, for this long.
 */
const APPLIED_WRITE_TTL_MS = 60_000;

/*
 * The stored shape (docs/architecture.md, "The session blob"). express-session would store its whole cookie
 * with every session, though only the expiry differs from one session to the next: the blob keeps that as
 * `expires` (epoch ms, the key's PEXPIRETIME; null when the cookie has none), and the other cookie fields
 * under `cookie` only when they differ from the app's cookie options. The longest field names are shortened;
 * every other field is stored under its own name, so a field added to SessionData needs nothing here.
 */
const STORED_NAMES = new Map([
  ['userId', 'user'],
  ['csrfToken', 'csrf'], // only read: sessions stored before the token was derived (csrf.ts) carry one
  ['createdAt', 'created'],
  ['lastSeenAt', 'seen'],
  ['absoluteExpiresAt', 'absolute'],
  ['authenticatedAt', 'auth'],
  ['createdBy', 'by'],
  ['userAgent', 'ua'],
]);
const SESSION_NAMES = new Map([...STORED_NAMES].map(([name, stored]) => [stored, name]));
const TAKEN_NAMES = new Set(['expires', 'cookie', ...SESSION_NAMES.keys()]);

/*
 * Any field name must survive a save (express-session saves whatever a handler put in the session, after
 * the response has started): a name that would read back as one of the blob's own, or that starts with the
 * escape, is stored with one ESCAPE in front, and a read strips one. The app's own fields never need it,
 * and neither do the fields the Lua scripts touch (`visits`, `cart`, `expires`, `seen`, `auth`, `cookie`).
 */
const ESCAPE = '~';

function storedName(name: string): string {
  const short = STORED_NAMES.get(name);
  if (short !== undefined) return short;
  return TAKEN_NAMES.has(name) || name.startsWith(ESCAPE) ? ESCAPE + name : name;
}

function sessionName(stored: string): string {
  if (stored.startsWith(ESCAPE)) return stored.slice(ESCAPE.length);
  return SESSION_NAMES.get(stored) ?? stored;
}

/** The cookie's fields besides its expiry, as express-session keeps them (Cookie.data). */
const COOKIE_FIELDS = ['path', 'httpOnly', 'secure', 'sameSite', 'domain', 'priority', 'partitioned'];

interface SessionSerializer {
  stringify(sess: SessionData): string;
  parse(json: string): SessionData;
}

function compactSerializer(cookieOptions: CookieOptions): SessionSerializer {
  // Every session's cookie starts as express-session's defaults overridden by the app's options. With
  // `secure: 'auto'` each request decides (see createSession), so the blob never holds `secure`.
  const defaults: Record<string, unknown> = { path: '/', httpOnly: true, ...cookieOptions };
  const fields = COOKIE_FIELDS.filter((name) => !(name === 'secure' && defaults.secure === 'auto'));
  const defaultCookie = Object.fromEntries(fields.map((name) => [name, defaults[name]]));

  return {
    stringify(sess) {
      // fromEntries, not assignment: a field named like an Object.prototype member stays a plain field.
      const stored: Record<string, unknown> = Object.fromEntries(
        Object.entries(sess)
          .filter(([name]) => name !== 'cookie')
          .map(([name, value]) => [storedName(name), value]),
      );
      stored.expires = cookieExpiry(sess);
      const cookie = sess.cookie as unknown as Record<string, unknown>;
      const differing = fields.filter((name) => cookie[name] !== undefined && cookie[name] !== defaultCookie[name]);
      if (differing.length > 0) stored.cookie = Object.fromEntries(differing.map((name) => [name, cookie[name]]));
      return JSON.stringify(stored);
    },

    parse(json) {
      const { expires, cookie, ...fields } = JSON.parse(json) as Record<string, unknown>;
      // Earlier versions stored the whole user, {id, username, displayName}; the session keeps the id.
      if (typeof fields.user === 'object' && fields.user !== null) fields.user = (fields.user as { id: unknown }).id;
      const sess: Record<string, unknown> = Object.fromEntries(Object.entries(fields).map(([stored, value]) => [sessionName(stored), value]));
      if (expires === undefined) {
        // Stored before the compact shape (until those sessions expire): express-session's own JSON.
        sess.cookie = cookie;
      } else {
        // originalMaxAge is what express-session's touch() resets the expiry to from now: the remaining life
        // leaves it where it is. A cookie without expiry reads back as express-session made it.
        const times = typeof expires === 'number' ? { expires: new Date(expires), originalMaxAge: expires - Date.now() } : { expires: null, originalMaxAge: null };
        sess.cookie = { ...defaultCookie, ...(cookie as Record<string, unknown> | undefined), ...times };
      }
      return sess as unknown as SessionData;
    },
  };
}

type ParsedSession = SessionData & { cookie: { expires?: string | Date | null } };

/** `indexedUntil`: the session's score in its user's index, the expiry it was registered or extended with. */
function toStoredSession(sid: string, sess: Partial<ParsedSession>, indexedUntil: number): StoredSession | null {
  if (!sess.userId) return null;
  return {
    sid,
    userId: sess.userId,
    createdAt: sess.createdAt ?? 0,
    lastSeenAt: sess.lastSeenAt ?? 0,
    // A cookie without expiry (never one the app issues) leaves the index's word for it.
    expiresAt: cookieExpiry(sess) ?? indexedUntil,
    userAgent: sess.userAgent ?? '',
    ip: sess.ip ?? '',
    createdBy: sess.createdBy ?? '',
  };
}

/**
 * connect-redis's store (express-session's get/set/destroy over ioredis), plus the atomic operations,
 * the per-user index and exact expiry the cluster needs.
 */
export class RedisSessionStore extends RedisStore implements SessionStore {
  readonly mode = 'redis' as const;
  // connect-redis's field, set by its constructor: this one's parse is synchronous.
  declare serializer: SessionSerializer;
  private readonly secureAuto: boolean;

  /**
   * `cookie`: the cookie options the app gives express-session (app.ts); the blob stores only what differs.
   * `keys`: the deployment's key layout (keys.ts). `redis`: one Redis (standalone or Sentinel) or a Cluster.
   * `replicated`: set when SESSION_WRITE_DURABILITY=replicated, the writes then wait for replicas (durability.ts).
   */
  constructor(
    private readonly redis: RedisClient,
    cookie: CookieOptions,
    private readonly keys: SessionKeys,
    private readonly replicated?: ReplicatedWrites,
    /** A statistics update that failed after its session write succeeded: the figures lag, the request is served. */
    private readonly statsFailed: (err: unknown) => void = () => undefined,
  ) {
    // disableTouch: express-session would EXPIRE on every read and move the TTL away from the cookie's
    // expiry; the app extends sessions itself, lazily, with `extend`.
    super({ client: redis, prefix: SESSION_PREFIX, disableTouch: true, serializer: compactSerializer(cookie) });
    this.secureAuto = cookie.secure === 'auto';
  }

  isReady(): boolean {
    return this.redis.status === 'ready' && (this.replicated?.client.status ?? 'ready') === 'ready';
  }

  /**
   * Every write of session state goes through here, as one pipeline: its replies in order, or the first
   * error. Replicated, the pipeline goes to the writes' own connection and ends with WAIT (durability.ts).
   * A script Redis does not hold yet answers NOSCRIPT and is sent again with its body, in a pipeline of its
   * own: ioredis's scripts would resend it alone, after the WAIT, which would then not cover it.
   */
  private async write(operation: string, commands: Command[]): Promise<unknown[]> {
    if (!this.isReady()) throw new WriteNotSentError(operation);
    let results = await this.send(commands);
    if (results.some(([err]) => err?.message.startsWith('NOSCRIPT'))) results = await this.send(commands.map(withScriptBody));
    const failed = results.find(([err]) => err);
    if (failed) {
      // MOVED reaches us only here (a pipeline with WAIT is not one ioredis retries): refresh the slot map.
      if (this.replicated?.client instanceof Cluster && /^(MOVED|ASK) /.test(failed[0]!.message)) this.replicated.client.refreshSlotsCache();
      throw failed[0];
    }
    if (!this.replicated) return results.map(([, reply]) => reply);
    const { replicas, waitMs, notReplicated } = this.replicated;
    const acknowledged = Number(results.at(-1)![1]);
    if (acknowledged < replicas) {
      const err = new WriteNotReplicatedError(operation, acknowledged, replicas, waitMs);
      notReplicated(err);
      throw err;
    }
    return results.slice(0, -1).map(([, reply]) => reply);
  }

  private async send(commands: Command[]): Promise<Results> {
    const client = this.replicated?.client ?? this.redis;
    const pipeline = client.pipeline(commands);
    if (this.replicated) pipeline.wait(this.replicated.replicas, this.replicated.waitMs);
    return ((await pipeline.exec()) ?? []) as Results;
  }

  async checkReachable(): Promise<boolean> {
    if (!this.isReady()) return false;
    // A PING bounded by the client's commandTimeout: it rejects rather than wait on a silent connection.
    return this.redis.ping().then(
      (reply) => reply === 'PONG',
      () => false,
    );
  }

  /**
   * express-session builds req.session from a loaded session here. With `secure: 'auto'` the request says
   * whether the cookie is Secure, as it does for a new session: the blob does not hold it.
   */
  override createSession(req: Request, sess: SessionData): Session & SessionData {
    const session = super.createSession(req, sess);
    if (this.secureAuto) session.cookie.secure = req.secure;
    return session;
  }

  /**
   * Writes with PXAT = the cookie's expiry, so the key's TTL equals the cookie's remaining life; a cookie
   * without expiry gets a day (storeExpiry in expiry.ts), as connect-redis's default TTL would give it.
   */
  override async set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): Promise<void> {
    const expiresAt = storeExpiry(sess as ParsedSession);
    const key = sessionKey(sid);
    await answer(cb, () => this.write('set', [expiresAt <= Date.now() ? ['del', key] : ['set', key, this.serializer.stringify(sess), 'PXAT', expiresAt]]));
  }

  /** express-session's regenerate destroys the session it replaces: a write like any other. */
  override async destroy(sid: string, cb?: (err?: unknown) => void): Promise<void> {
    await answer(cb, () => this.write('destroy', [['del', sessionKey(sid)]]));
  }

  async incrementVisits(sid: string, entry: ActivityEntry): Promise<number | null> {
    const record = appliedWriteKey(sid, newWriteId());
    const [visits] = await this.write('incrementVisits', [script('incrementVisits', sessionKey(sid), record, activityKey(sid), APPLIED_WRITE_TTL_MS, ...logged(entry))]);
    return visits === null ? null : Number(visits);
  }

  addToCart(sid: string, productId: string, quantity: number, maxBytes: number, entry: ActivityEntry): Promise<CartUpdate> {
    return this.updateCart(sid, productId, quantity, maxBytes, entry);
  }

  removeFromCart(sid: string, productId: string, entry: ActivityEntry): Promise<CartUpdate> {
    return this.updateCart(sid, productId, 0, Number.MAX_SAFE_INTEGER, entry);
  }

  private async updateCart(sid: string, productId: string, add: number, maxBytes: number, entry: ActivityEntry): Promise<CartUpdate> {
    const record = appliedWriteKey(sid, newWriteId());
    const [reply] = await this.write('updateCart', [script('updateCart', sessionKey(sid), record, activityKey(sid), productId, add, maxBytes, APPLIED_WRITE_TTL_MS, ...logged(entry))]);
    const [status, detail] = reply as [string, string | number];
    if (status === 'missing') return { status };
    if (status === 'too_large') return { status, bytes: Number(detail) };
    // cjson writes an empty table as {}; a non-empty one keyed by productId is an object too.
    return { status: 'ok', cart: JSON.parse(String(detail)) as Cart };
  }

  async reauthenticate(sid: string, at: number, entry: ActivityEntry): Promise<boolean> {
    const [done] = await this.write('reauthenticate', [script('reauthenticate', sessionKey(sid), activityKey(sid), at, ...logged(entry))]);
    return Number(done) === 1;
  }

  async extend(sid: string, userId: string, expiresAt: number, lastSeenAt: number, entry: ActivityEntry): Promise<boolean> {
    const index = this.keys.userIndexKey(userId);
    const [done] = await this.write('extend', [script('extend', sessionKey(sid), index, activityKey(sid), expiresAt, lastSeenAt, sid, new Date(expiresAt).toISOString(), ...logged(entry))]);
    if (Number(done) !== 1) return false;
    await this.updateStats('extend', sessionHandle(sid), expiresAt);
    return true;
  }

  async register(userId: string, sid: string, expiresAt: number, entry: ActivityEntry): Promise<void> {
    await this.write('register', [script('register', this.keys.userIndexKey(userId), activityKey(sid), sid, expiresAt, Date.now(), ...logged(entry))]);
    const absoluteExpiresAt = Number(entry.d?.absoluteExpiresAt ?? expiresAt);
    await this.updateStats('open', sessionHandle(sid), userId, entry.t, expiresAt, absoluteExpiresAt, entry.s);
  }

  async stats(): Promise<RawStats> {
    const [sessions, users, created, ended, durations, logins] = (await this.stat('read')) as [number, number, string[], string[], string[], number];
    const pairs = (flat: string[]) => Object.fromEntries(flat.flatMap((value, i) => (i % 2 === 0 ? [[value, Number(flat[i + 1])]] : [])));
    return {
      activeSessions: sessions,
      activeUsers: users,
      createdByInstance: pairs(created),
      endedByReason: pairs(ended),
      recentDurationsMs: durations.map((member) => Number(member.slice(member.lastIndexOf(':') + 1))),
      loginsLastMinute: logins,
    };
  }

  /*
   * The statistics live under a tag of their own (keys.ts statsKeys), so on a cluster they are one more command
   * after the session's write, never part of it: at a login, an extension and an end, not on a visit or a read.
   */
  private async updateStats(operation: 'open' | 'extend' | 'close', ...args: (string | number)[]): Promise<void> {
    await this.stat(operation, ...args).catch(this.statsFailed);
  }

  private async stat(operation: string, ...args: (string | number)[]): Promise<unknown> {
    const all = [...this.keys.statsKeys(), operation, Date.now(), STATS_WINDOW_MS, LOGIN_RATE_WINDOW_MS, ...args];
    try {
      return await this.redis.evalsha(SCRIPT_SHAS.stats, SCRIPTS.stats.keys, ...all);
    } catch (err) {
      if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(SCRIPTS.stats.lua, SCRIPTS.stats.keys, ...all);
    }
  }

  async listForUser(userId: string): Promise<StoredSession[]> {
    const key = this.keys.userIndexKey(userId);
    const now = Date.now();
    // The whole index in one read: an entry whose score (its session's expiry) has passed is pruned unread.
    const entries = await this.redis.zrangebyscore(key, '-inf', '+inf', 'WITHSCORES');
    const indexed: { sid: string; until: number }[] = [];
    const gone: string[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      const entry = { sid: entries[i]!, until: Number(entries[i + 1]) };
      if (entry.until >= now) indexed.push(entry);
      else gone.push(entry.sid);
    }
    const blobs = indexed.length > 0 ? await this.redis.mget(indexed.map(({ sid }) => sessionKey(sid))) : [];
    const live: StoredSession[] = [];
    blobs.forEach((raw, i) => {
      const { sid, until } = indexed[i]!;
      const stored = raw ? toStoredSession(sid, this.serializer.parse(raw) as ParsedSession, until) : null;
      if (stored) live.push(stored);
      else gone.push(sid);
    });
    // Pruning keeps the index bounded; a listing that finds nothing to prune writes nothing. Not a session
    // write: it drops only entries whose sessions are gone, and a listing after a failover drops them again.
    if (gone.length > 0) await this.redis.zrem(key, ...gone);
    return live;
  }

  async end(userId: string, sid: string, reason: EndReason, until: number, entry: ActivityEntry): Promise<void> {
    const marker: Command[] = until > Date.now() ? [['set', endedKey(sid), reason, 'PXAT', until]] : [];
    const log = activityKey(sid);
    const transaction: Command[] = [
      ['multi'], ['del', sessionKey(sid)], ['zrem', this.keys.userIndexKey(userId), sid], ...marker,
      ['lpush', log, JSON.stringify(entry)], ['ltrim', log, 0, ACTIVITY_ENTRIES - 1], ['pexpireat', log, entry.t + ACTIVITY_RETENTION_MS],
      ['exec'],
    ];
    const replies = (await this.write('end', transaction)).at(-1) as unknown[];
    const failed = replies.find((reply) => reply instanceof Error);
    if (failed) throw failed;
    await this.updateStats('close', sessionHandle(sid), statsReasonOf(entry));
  }

  async activity(userId: string, handle: string): Promise<{ entries: ActivityEntry[]; sessionExpiresAt: number | null } | null> {
    // The handle names the log under the user's own tag: another user's handle finds nothing here.
    const log = activityKeyOf(this.keys.userTag(userId), handle);
    const [raw, expiresAt] = await Promise.all([this.redis.lrange(log, 0, ACTIVITY_ENTRIES - 1), this.redis.pexpiretime(log)]);
    if (raw.length === 0) return null;
    return { entries: raw.map((json) => JSON.parse(json) as ActivityEntry), sessionExpiresAt: expiresAt > 0 ? expiresAt - ACTIVITY_RETENTION_MS : null };
  }

  async endReason(sid: string): Promise<EndReason | null> {
    return (await this.redis.get(endedKey(sid))) as EndReason | null;
  }

  async countLive(userIds: readonly string[]): Promise<number> {
    const now = Date.now();
    // One command per user, not a pipeline: on a cluster each index lives in its own user's slot.
    const counts = await Promise.all(userIds.map((userId) => this.redis.zcount(this.keys.userIndexKey(userId), now, '+inf')));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /*
   * connect-redis answers these by SCANning every `sess:*` key: the apps' Redis user may not SCAN
   * (redis/session-app.acl), a walk over every session does not scale, and `clear` would end every user's
   * session at once. express-session makes them optional and the app needs none: they fail, sending nothing.
   */
  override all(cb?: (err: unknown) => void): Promise<void> {
    return notOffered('all', cb);
  }

  override ids(cb?: (err: unknown) => void): Promise<void> {
    return notOffered('ids', cb);
  }

  override length(cb?: (err: unknown) => void): Promise<void> {
    return notOffered('length', cb);
  }

  override clear(cb?: (err: unknown) => void): Promise<void> {
    return notOffered('clear', cb);
  }

  async close(): Promise<void> {
    // The Redis client is owned by whoever created it (server.ts or a test); nothing to release here.
  }
}

/** An activity entry as a script's last two arguments: the entry, and how long the log outlives the session. */
function logged(entry: ActivityEntry): [string, number] {
  return [JSON.stringify(entry), ACTIVITY_RETENTION_MS];
}

/** A Store method's outcome, to express-session's callback, or as the promise's when there is none. */
async function answer(cb: ((err?: unknown) => void) | undefined, operation: () => Promise<unknown>): Promise<void> {
  try {
    await operation();
    cb?.();
  } catch (err) {
    if (!cb) throw err;
    cb(err);
  }
}

/** The answer of a Store method this store does not offer: an error, to the callback or as the rejection. */
async function notOffered(method: string, cb?: (err: unknown) => void): Promise<void> {
  const err = new Error(`the Redis session store does not offer ${method}(): it would SCAN every session key (docs/architecture.md)`);
  if (!cb) throw err;
  cb(err);
}
