import type { ClusterEvent, InstanceFigures, LiveInstance, RedisLink } from '../http-contract';
import type { RedisClient } from '../redis';

/*
 * The live view's keys, every one under the hash tag {cluster}: a Redis Cluster keeps them in one slot, so the
 * heartbeat script and the reader's pipeline and MGET never cross slots (docs/architecture.md, "The live view").
 */
export const LIVE_KEYS = {
  /** sorted set: instance id → its last heartbeat (ms, Redis's clock), for instances not judged gone. */
  instances: '{cluster}:instances',
  /** sorted set: instance id → its last heartbeat, for instances gone in the last minute. */
  gone: '{cluster}:gone',
  /** list, newest first, capped: ClusterEvent as JSON (times in ms). */
  events: '{cluster}:events',
  /** string: the primaries the apps last saw, comma-separated; a change is a primary-changed event. */
  primaries: '{cluster}:primaries',
  /** string, PX GONE_AFTER_MS: what the instance published in its last heartbeat (InstanceBeat). */
  instance: (id: string) => `{cluster}:instance:${id}`,
  /** string, PX REPORTED_KEEP_MS: `<epoch>:<seq>`, the last event this instance's process reported (BEAT_LUA). */
  reported: (id: string) => `{cluster}:reported:${id}`,
} as const;

export const BEAT_MS = 1000;
/** No heartbeat for this long and an instance is gone: one beat may come 1.5 s late without a false alarm. */
export const GONE_AFTER_MS = 2500;
/** Instances are listed for a minute after their last heartbeat. */
export const KEEP_MS = 60_000;
export const MAX_EVENTS = 500;
/** How many events the live view reads and shows. */
export const EVENTS_SHOWN = 200;
/** How long the board remembers which events an instance reported: far longer than any beat is retried. */
const REPORTED_KEEP_MS = 600_000;

/** What an instance publishes about itself every BEAT_MS. */
export interface InstanceBeat {
  startedAt: number;
  ready: boolean;
  draining: boolean;
  figures: InstanceFigures;
  redis: RedisLink | null;
}

/** An event as stored: the contract's ClusterEvent with times in epoch ms. */
export type StoredEvent = Omit<ClusterEvent, 'at' | 'lastSeen' | 'since' | 'until'> & { at: number; lastSeen?: number; since?: number; until?: number };

/**
 * An event an instance reports itself, numbered within its process (`epoch`: one per process). A beat the
 * client gave up on may still have run on Redis: the next beat carries the same events again, and the
 * numbers keep them from being recorded twice.
 */
export interface ReportedEvent {
  seq: number;
  event: StoredEvent;
}

/*
 * beat: one heartbeat, or (leave = 1) the last one of an instance that stops. Atomic, so two instances that
 * both notice a third gone record it once. Every call goes through `call`, which counts them: the reply says
 * how many commands the heartbeat cost (INFO commandstats counts a script's commands one by one).
 * KEYS: instances, gone, events, this instance's key, this instance's last reported event.
 * ARGV: id, beat JSON, GONE_AFTER_MS, KEEP_MS, MAX_EVENTS, judge (1: this instance has beaten without a break
 * for GONE_AFTER_MS, so it may call others silent), leave (1/0), the process's epoch, REPORTED_KEEP_MS, then
 * the events the instance reports, as pairs: its number, its JSON. One numbered at or below the last one
 * recorded for this epoch was recorded already (a beat that ran after the client stopped waiting for it).
 */
const BEAT_LUA = `
  local calls = 0
  local function call(...)
    calls = calls + 1
    return redis.call(...)
  end
  local t = call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local id, goneAfter, keep = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
  local events = {}
  local function gone(member, lastSeen, reason)
    call('ZREM', KEYS[1], member)
    if lastSeen < now - keep then return end
    call('ZADD', KEYS[2], lastSeen, member)
    events[#events + 1] = cjson.encode({at = now, type = 'gone', instance = member, lastSeen = lastSeen, reason = reason})
  end
  if ARGV[7] == '1' then
    call('DEL', KEYS[4])
    gone(id, now, 'stopped')
  else
    call('SET', KEYS[4], ARGV[2], 'PX', goneAfter)
    if call('ZADD', KEYS[1], now, id) == 1 then
      call('ZREM', KEYS[2], id)
      events[#events + 1] = cjson.encode({at = now, type = 'up', instance = id})
    end
    if ARGV[6] == '1' then
      local silent = call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - goneAfter), 'WITHSCORES', 'LIMIT', 0, 16)
      for i = 1, #silent, 2 do gone(silent[i], tonumber(silent[i + 1]), 'silent') end
    end
  end
  if #ARGV > 9 then
    local last = 0
    local stored = call('GET', KEYS[5])
    if stored then
      local epoch, seq = string.match(stored, '^(.*):(%d+)$')
      if epoch == ARGV[8] then last = tonumber(seq) end
    end
    local top = last
    for i = 10, #ARGV, 2 do
      local seq = tonumber(ARGV[i])
      if seq > last then
        events[#events + 1] = ARGV[i + 1]
        if seq > top then top = seq end
      end
    end
    if top > last then call('SET', KEYS[5], ARGV[8] .. ':' .. top, 'PX', ARGV[9]) end
  end
  if #events > 0 then
    call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - keep))
    call('LPUSH', KEYS[3], unpack(events))
    call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
  end
  return {now, calls}`;

/*
 * switchPrimaries: the primaries an instance now sees, compared with what the apps last recorded; the first
 * instance to see a change records it. KEYS: primaries, events. ARGV: primaries, instance id, MAX_EVENTS.
 * Replies {recorded (1/0), commands run}.
 */
const SWITCH_LUA = `
  local before = redis.call('GET', KEYS[1])
  if before == ARGV[1] then return {0, 1} end
  redis.call('SET', KEYS[1], ARGV[1])
  if not before then return {0, 2} end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('LPUSH', KEYS[2], cjson.encode({at = now, type = 'primary-changed', instance = ARGV[2], from = before, to = ARGV[1]}))
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
  return {1, 5}`;

interface BoardCommands {
  liveBeat(...args: string[]): Promise<[number, number]>;
  liveSwitchPrimaries(...args: string[]): Promise<[number, number]>;
}

/** What the board read: the instances seen in the last minute (but the reader's own entry) and the events. */
export interface BoardSnapshot {
  instances: LiveInstance[];
  events: StoredEvent[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The live view's side of Redis: heartbeats, events, and reading them all back. `countCommands` is told every
 * command sent, as INFO commandstats counts them (a script: its EVALSHA and each command it runs).
 */
export class RedisBoard {
  private readonly redis: RedisClient & BoardCommands;

  constructor(redis: RedisClient, private readonly countCommands: (n: number) => void) {
    // Several apps in one test process may share a client: define each script once.
    if (!('liveBeat' in redis)) redis.defineCommand('liveBeat', { lua: BEAT_LUA, numberOfKeys: 5 });
    if (!('liveSwitchPrimaries' in redis)) redis.defineCommand('liveSwitchPrimaries', { lua: SWITCH_LUA, numberOfKeys: 2 });
    this.redis = redis as RedisClient & BoardCommands;
  }

  /** One heartbeat; `reported`: events the instance records itself, numbered within the process `epoch`. */
  async beat(
    id: string,
    beat: InstanceBeat,
    { judge, leave, epoch, reported }: { judge: boolean; leave: boolean; epoch: string; reported: ReportedEvent[] },
  ): Promise<void> {
    this.countCommands(1);
    const [, calls] = await this.redis.liveBeat(
      LIVE_KEYS.instances, LIVE_KEYS.gone, LIVE_KEYS.events, LIVE_KEYS.instance(id), LIVE_KEYS.reported(id),
      id, JSON.stringify(beat), String(GONE_AFTER_MS), String(KEEP_MS), String(MAX_EVENTS), judge ? '1' : '0', leave ? '1' : '0',
      epoch, String(REPORTED_KEEP_MS),
      ...reported.flatMap(({ seq, event }) => [String(seq), JSON.stringify(event)]),
    );
    this.countCommands(calls);
  }

  /** Records a change of primaries once, whichever instance sees it first. */
  async switchPrimaries(id: string, primaries: string[]): Promise<boolean> {
    this.countCommands(1);
    const [recorded, calls] = await this.redis.liveSwitchPrimaries(LIVE_KEYS.primaries, LIVE_KEYS.events, primaries.join(','), id, String(MAX_EVENTS));
    this.countCommands(calls);
    return recorded === 1;
  }

  /** INFO replication on the node the client is connected to: its role. */
  async role(): Promise<'primary' | 'replica'> {
    this.countCommands(1);
    return /^role:master/m.test(await this.redis.info('replication')) ? 'primary' : 'replica';
  }

  /** Every instance seen in the last minute and the last events: four commands (a pipeline of three, an MGET). */
  async read(now: number): Promise<BoardSnapshot> {
    this.countCommands(3);
    const replies = await this.redis
      .pipeline()
      .zrange(LIVE_KEYS.instances, 0, -1, 'WITHSCORES')
      .zrange(LIVE_KEYS.gone, 0, -1, 'WITHSCORES')
      .lrange(LIVE_KEYS.events, 0, EVENTS_SHOWN - 1)
      .exec();
    const [listed, gone, events] = (replies ?? []).map(([err, reply]) => {
      if (err) throw err;
      return reply as string[];
    }) as [string[], string[], string[]];
    const seen = pairs(listed).filter(([, lastSeen]) => lastSeen >= now - KEEP_MS);
    if (seen.length > 0) this.countCommands(1);
    const beats = seen.length === 0 ? [] : await this.redis.mget(...seen.map(([id]) => LIVE_KEYS.instance(id)));
    const instances = seen.map(([id, lastSeen], i) => instanceOf(id, lastSeen, beats[i] ?? null));
    for (const [id, lastSeen] of pairs(gone)) {
      if (lastSeen >= now - KEEP_MS && !instances.some((instance) => instance.id === id)) instances.push(instanceOf(id, lastSeen, null));
    }
    return { instances, events: events.map((raw) => JSON.parse(raw) as StoredEvent) };
  }
}

function pairs(reply: string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([reply[i]!, Number(reply[i + 1])]);
  return out;
}

/** An instance from its last heartbeat; without one (expired, or it stopped) it is gone. */
export function instanceOf(id: string, lastSeen: number, raw: string | null): LiveInstance {
  const beat = raw ? (JSON.parse(raw) as InstanceBeat) : null;
  return {
    id,
    state: !beat ? 'gone' : beat.draining ? 'draining' : 'up',
    lastSeen: iso(lastSeen),
    startedAt: beat ? iso(beat.startedAt) : null,
    ready: beat?.ready ?? false,
    draining: beat?.draining ?? false,
    figures: beat?.figures ?? null,
    redis: beat?.redis ?? null,
  };
}

/** A stored event as the API shows it: times as ISO text. */
export function eventView(event: StoredEvent): ClusterEvent {
  const { at, lastSeen, since, until, ...rest } = event;
  return {
    ...rest,
    at: iso(at),
    ...(lastSeen === undefined ? {} : { lastSeen: iso(lastSeen) }),
    ...(since === undefined ? {} : { since: iso(since) }),
    ...(until === undefined ? {} : { until: iso(until) }),
  };
}
