// How much Redis memory one typical session costs: stores N sessions through the Redis store's own code (the
// login's SET … PXAT, three clicks and a two-item cart through its Lua scripts, then the per-user index), many
// at a time so ioredis pipelines them, and divides the growth of INFO memory `used_memory` by N.
//
//   npx tsx loadtest/tools/session-memory.ts [--sessions 100000] [--redis redis://127.0.0.1:6379] [--user-agent 'Mozilla/5.0 …']
//
// Without --redis it starts a throw-away redis-server of its own (from PATH), so nothing else moves
// used_memory. With --redis, use a Redis nobody else is writing to; the sessions it made are deleted at the end.
// The integration test test/integration/efficiency.test.ts runs the same measurement with fewer sessions.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Cookie, type SessionData } from 'express-session';
import Redis from 'ioredis';
import { RedisSessionStore, SESSION_PREFIX } from '../../app/src/session/redis-store';
import { startOwnedRedis } from '../../test/helpers/redis-server';

/** What the test client and this tool send; a desktop browser's is about 110 characters. */
export const TYPICAL_USER_AGENT = 'jest-test-client';

const USERS = [
  { id: 'u-alice', username: 'alice', displayName: 'Alice' },
  { id: 'u-bob', username: 'bob', displayName: 'Bob' },
  { id: 'u-carol', username: 'carol', displayName: 'Carol' },
];
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
  /** One stored session as Redis holds it. */
  sample: string;
}

const ceilToSecond = (ms: number) => Math.ceil(ms / 1000) * 1000;

/** A session as a login leaves it (lifecycle.ts startSession): express-session's cookie and the app's data. */
function typicalSession(i: number, userAgent: string): { sid: string; sess: SessionData } {
  const now = Date.now();
  const absoluteExpiresAt = ceilToSecond(now + ABSOLUTE_MS);
  const cookie = Object.assign(new Cookie(), { path: '/', httpOnly: true, sameSite: 'lax', secure: false } as const);
  cookie.expires = new Date(Math.min(ceilToSecond(now + IDLE_MS), absoluteExpiresAt));
  const sess: SessionData = {
    cookie,
    user: USERS[i % USERS.length]!,
    csrfToken: randomBytes(24).toString('base64url'),
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt,
    visits: 0,
    cart: {},
    createdBy: `app-${(i % 3) + 1}`,
    userAgent,
    ip: '127.0.0.1',
  };
  return { sid: randomBytes(24).toString('base64url'), sess };
}

async function usedMemory(redis: Redis): Promise<number> {
  // Let Redis trim the pipelining client's buffers and finish rehashing before reading.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

async function inBatches(count: number, each: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(start + BATCH, count); i++) batch.push(each(i));
    await Promise.all(batch);
  }
}

/** Stores `count` typical sessions on `redis`, measures, and deletes them again. */
export async function measureSessionMemory(redis: Redis, count: number, userAgent = TYPICAL_USER_AGENT): Promise<SessionMemory> {
  const store = new RedisSessionStore(redis);
  const sessions = Array.from({ length: count }, (_, i) => typicalSession(i, userAgent));
  const before = await usedMemory(redis);
  await inBatches(count, async (i) => {
    const { sid, sess } = sessions[i]!;
    await store.set(sid, sess);
    for (let click = 0; click < 3; click++) await store.incrementVisits(sid);
    await store.addToCart(sid, 'tea', 2, MAX_BYTES);
    await store.addToCart(sid, 'mug', 1, MAX_BYTES);
  });
  const withSessions = await usedMemory(redis);
  await inBatches(count, (i) => {
    const { sid, sess } = sessions[i]!;
    return store.register(sess.user.id, sid, new Date(sess.cookie.expires!).getTime());
  });
  const withIndex = await usedMemory(redis);
  const sample = (await redis.get(SESSION_PREFIX + sessions[0]!.sid)) ?? '';

  await inBatches(Math.ceil(count / BATCH), (b) => redis.del(...sessions.slice(b * BATCH, (b + 1) * BATCH).map(({ sid }) => SESSION_PREFIX + sid)));
  await redis.del(...USERS.map((u) => `user-sessions:${u.id}`));
  return { sessions: count, sessionBytes: (withSessions - before) / count, indexBytes: (withIndex - withSessions) / count, sample };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      sessions: { type: 'string', default: '100000' },
      redis: { type: 'string' },
      'user-agent': { type: 'string', default: TYPICAL_USER_AGENT },
    },
  });
  const count = Number(args.sessions);
  if (!Number.isInteger(count) || count < 1) throw new Error('--sessions must be a positive integer');
  const owned = args.redis ? undefined : await startOwnedRedis();
  const redis = new Redis(args.redis ?? owned!.url);
  try {
    const server = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
    const result = await measureSessionMemory(redis, count, args['user-agent']);
    console.log(`redis ${server}, ${count} sessions, user agent ${JSON.stringify(args['user-agent'])}`);
    console.log(`stored session (${Buffer.byteLength(result.sample)} bytes): ${result.sample}`);
    console.log(`used_memory per session: ${result.sessionBytes.toFixed(1)} bytes (sess:<id> keys)`);
    console.log(`  + per-user index:       ${result.indexBytes.toFixed(1)} bytes (user-sessions:<userId>, ${USERS.length} users)`);
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
