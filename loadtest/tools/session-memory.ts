// How much Redis memory one typical session costs: stores N sessions through the Redis store's own code (the
// login's SET … PXAT, three clicks and a two-item cart through its Lua scripts, then the per-user index), many
// at a time so ioredis pipelines them, and divides the growth of INFO memory `used_memory` by N. The typical
// session is a desktop browser's: its user agent, and an IPv4 address. Each click and cart add also leaves an
// applied-write record for a minute (redis-store.ts) and an entry in the session's activity log: those are
// deleted batch by batch, so the sessions are measured as they stay, and measured apart: the records as one
// more click per session leaves them, the logs full (100 entries each, 100 clicks per session).
//
//   npx tsx loadtest/tools/session-memory.ts [--sessions 100000] [--log-sessions 10000] [--redis redis://127.0.0.1:6379] [--user-agent 'jest-test-client']
//
// Without --redis it starts a throw-away redis-server of its own (from PATH), so nothing else moves
// used_memory. With --redis, use a Redis nobody else is writing to; the sessions it made are deleted at the end.
// The integration test test/integration/efficiency.test.ts runs the same measurement with fewer sessions.
import { parseArgs } from 'node:util';
import { Cookie, type SessionData } from 'express-session';
import Redis from 'ioredis';
import { loadConfig } from '../../app/src/config';
import { sessionCookieOptions } from '../../app/src/session/cookie';
import { ACTIVITY_ENTRIES, type ActivityEntry } from '../../app/src/session/activity';
import { ceilToSecond } from '../../app/src/session/expiry';
import { SESSION_PREFIX, SessionKeys, newSessionId } from '../../app/src/session/keys';
import { RedisSessionStore } from '../../app/src/session/redis-store';
import { DEMO_USER_IDS } from '../../app/src/users';
import { startOwnedRedis } from '../../test/helpers/redis-server';
import { sleep } from '../../toolkit/time';

/** Chrome on Linux (101 characters, four `/`); the test client sends 'jest-test-client'. */
export const TYPICAL_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const TYPICAL_IP = '198.51.100.23';
/** The app's cookie with its default configuration: what the store leaves out of every blob. */
const COOKIE_OPTIONS = sessionCookieOptions(loadConfig({}));
const IDLE_MS = 1_800_000;
const ABSOLUTE_MS = 28_800_000;
const MAX_BYTES = 10_240;
/** Sessions in flight at once: enough to keep the connection full, few enough to bound the client's memory. */
const BATCH = 500;

export interface SessionMemory {
  sessions: number;
  /** used_memory growth per session: the `sess:<id>` keys alone. */
  sessionBytes: number;
  /** Further growth per session once each is in its user's index (three users, as in the demo). */
  indexBytes: number;
  /** What a live session costs in the statistics (stats.ts: its expiry, user and times; its login, for an hour). */
  statsBytes: number;
  /** Growth per write for its applied-write record (one per click or cart add, living a minute). */
  recordBytes: number;
  /** Growth per session for a full activity log (ACTIVITY_ENTRIES clicks), when measured (`logSessions`). */
  logBytes: number | null;
  /** One stored session as Redis holds it. */
  sample: string;
}

/** Key names as the app makes them; the secret only picks the tags, not their size. */
const KEYS = new SessionKeys('session-memory-measurement');

/** A session as a login leaves it (lifecycle.ts startSession): express-session's cookie and the app's data. */
function typicalSession(i: number, userAgent: string): { sid: string; sess: SessionData } {
  const now = Date.now();
  const absoluteExpiresAt = ceilToSecond(now + ABSOLUTE_MS);
  // As express-session makes it for a login over https: `secure: 'auto'` turns into true.
  const cookie = Object.assign(new Cookie(), { ...COOKIE_OPTIONS, secure: true });
  cookie.expires = new Date(Math.min(ceilToSecond(now + IDLE_MS), absoluteExpiresAt));
  const sess: SessionData = {
    cookie,
    userId: DEMO_USER_IDS[i % DEMO_USER_IDS.length]!,
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt,
    visits: 0,
    cart: {},
    createdBy: `app-${(i % 3) + 1}`,
    userAgent,
    ip: TYPICAL_IP,
  };
  return { sid: newSessionId(KEYS.userTag(sess.userId)), sess };
}

/** A click's activity entry as the app writes it for a typical session (activity.ts). */
function typicalEntry(sess: SessionData): ActivityEntry {
  return { a: 'visit', t: Date.now(), s: sess.createdBy, ip: sess.ip, ua: sess.userAgent.slice(0, 120) };
}

async function usedMemory(redis: Redis): Promise<number> {
  // Let Redis trim the pipelining client's buffers and finish rehashing before reading.
  await sleep(1500);
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

async function inBatches(count: number, each: (i: number) => Promise<unknown>, afterEach?: () => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(start + BATCH, count); i++) batch.push(each(i));
    await Promise.all(batch);
    await afterEach?.();
  }
}

/** Stores `count` typical sessions on `redis`, measures, and deletes them again. */
export async function measureSessionMemory(redis: Redis, count: number, userAgent = TYPICAL_USER_AGENT, logSessions = 0): Promise<SessionMemory> {
  const store = new RedisSessionStore(redis, COOKIE_OPTIONS, KEYS);
  const sessions = Array.from({ length: count }, (_, i) => typicalSession(i, userAgent));
  const dropWriteTraces = () => Promise.all([deleteKeys(redis, 'applied-write:*'), deleteKeys(redis, 'activity:*')]).then(() => undefined);
  const before = await usedMemory(redis);
  await inBatches(count, async (i) => {
    const { sid, sess } = sessions[i]!;
    const entry = typicalEntry(sess);
    await store.set(sid, sess);
    for (let click = 0; click < 3; click++) await store.incrementVisits(sid, entry);
    await store.addToCart(sid, 'tea', 2, MAX_BYTES, entry);
    await store.addToCart(sid, 'mug', 1, MAX_BYTES, entry);
  }, dropWriteTraces);
  const withSessions = await usedMemory(redis);
  await inBatches(count, (i) => {
    const { sid, sess } = sessions[i]!;
    return store.register(sess.userId, sid, new Date(sess.cookie.expires!).getTime(), typicalEntry(sess));
  }, () => deleteKeys(redis, 'activity:*'));
  const withStats = await usedMemory(redis);
  await redis.del(...KEYS.statsKeys());
  const withIndex = await usedMemory(redis);
  const sample = (await redis.get(SESSION_PREFIX + sessions[0]!.sid)) ?? '';
  // A fourth click: the blob keeps its size (visits 3 → 4), the record is what grows (its log entry is dropped).
  await inBatches(count, (i) => store.incrementVisits(sessions[i]!.sid, typicalEntry(sessions[i]!.sess)), () => deleteKeys(redis, 'activity:*'));
  const withRecords = await usedMemory(redis);
  await deleteKeys(redis, 'applied-write:*');
  let logBytes: number | null = null;
  if (logSessions > 0) {
    // Full logs: ACTIVITY_ENTRIES clicks on each of the first logSessions sessions, their records dropped as they go.
    const beforeLogs = await usedMemory(redis);
    await inBatches(logSessions, async (i) => {
      const { sid, sess } = sessions[i]!;
      for (let click = 0; click < ACTIVITY_ENTRIES; click++) await store.incrementVisits(sid, typicalEntry(sess));
    }, () => deleteKeys(redis, 'applied-write:*'));
    logBytes = ((await usedMemory(redis)) - beforeLogs) / logSessions;
    await deleteKeys(redis, 'activity:*');
  }

  await inBatches(Math.ceil(count / BATCH), (b) => redis.del(...sessions.slice(b * BATCH, (b + 1) * BATCH).map(({ sid }) => SESSION_PREFIX + sid)));
  await redis.del(...DEMO_USER_IDS.map((id) => KEYS.userIndexKey(id)));
  return {
    sessions: count,
    sessionBytes: (withSessions - before) / count,
    indexBytes: (withIndex - withSessions) / count,
    statsBytes: (withStats - withIndex) / count,
    recordBytes: (withRecords - withIndex) / count,
    logBytes,
    sample,
  };
}

/** Deletes the keys the writes left beside the sessions (the measuring Redis holds no one else's). */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sessions: { type: 'string', default: '100000' },
      redis: { type: 'string' },
      'user-agent': { type: 'string', default: TYPICAL_USER_AGENT },
      'log-sessions': { type: 'string', default: '10000' },
    },
  });
  const count = Number(args.sessions);
  if (!Number.isInteger(count) || count < 1) throw new Error('--sessions must be a positive integer');
  const owned = args.redis ? undefined : await startOwnedRedis();
  const redis = new Redis(args.redis ?? owned!.url);
  try {
    const server = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
    const logSessions = Math.min(count, Number(args['log-sessions']));
    const result = await measureSessionMemory(redis, count, args['user-agent'], logSessions);
    console.log(`redis ${server}, ${count} sessions, user agent ${JSON.stringify(args['user-agent'])}`);
    console.log(`stored session (${Buffer.byteLength(result.sample)} bytes): ${result.sample}`);
    console.log(`used_memory per session: ${result.sessionBytes.toFixed(1)} bytes (sess:<id> keys)`);
    console.log(`  + per-user index:       ${result.indexBytes.toFixed(1)} bytes (user-sessions:{tag}, ${DEMO_USER_IDS.length} users)`);
    console.log(`  + statistics:           ${result.statsBytes.toFixed(1)} bytes (stats:{tag}…, while the session lives; its login for an hour)`);
    console.log(`used_memory per write:   ${result.recordBytes.toFixed(1)} bytes for a minute (applied-write:{tag}…)`);
    console.log(`a full activity log:     ${result.logBytes?.toFixed(1)} bytes per session (activity:{tag}…, ${ACTIVITY_ENTRIES} entries, over ${logSessions} sessions)`);
  } finally {
    redis.disconnect();
    await owned?.destroy();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
