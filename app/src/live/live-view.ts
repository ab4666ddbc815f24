import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterEventsView, LiveInstance, LiveInstancesView, RedisLink, StoreMode } from '../http-contract';
import type { RedisClient, RedisMode } from '../redis';
import { RequestFigures } from './figures';
import { BEAT_MS, GONE_AFTER_MS, RedisBoard, eventView, type BoardSnapshot, type InstanceBeat, type ReportedEvent, type StoredEvent } from './redis-board';

/** The whole cluster as one instance can tell it: every instance's heartbeat and what happened (the events). */
export interface LiveView {
  instances(): Promise<LiveInstancesView>;
  events(): Promise<ClusterEventsView>;
  /** The instance has begun to stop: its next heartbeat says so, and records the event. */
  noteDraining(): void;
  /** The last heartbeat (the instance leaves the list at once); the Redis client stays open. */
  close(): Promise<void>;
}

export interface LiveDeps {
  instanceId: string;
  store: { mode: StoreMode; isReady(): boolean };
  figures: RequestFigures;
  isDraining: () => boolean;
  logger: Logger;
  /** Absent: the sticky variant, no shared store. */
  redis?: RedisClient;
  redisMode: RedisMode;
  /** Counts the Redis commands the live view sends (sc_live_redis_commands_total). */
  countCommands: (n: number) => void;
  /** false: no heartbeat, no watch on the primary (tests that count the session path's own commands). */
  heartbeat: boolean;
  clock?: () => number;
}

/** A reading of the board is shared by the requests of this long: polling pages cost Redis a bounded rate. */
const SNAPSHOT_MAX_AGE_MS = 250;

export function createLiveView(deps: LiveDeps): LiveView {
  return deps.store.mode === 'redis' && deps.redis ? new SharedLiveView(deps, deps.redis) : new LocalLiveView(deps);
}

/** What the instance knows of itself, without asking anyone. */
abstract class OwnView {
  protected readonly clock: () => number;
  protected readonly startedAt: number;

  constructor(protected readonly deps: LiveDeps) {
    this.clock = deps.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  protected redisLink(): RedisLink | null {
    return null;
  }

  protected ownBeat(): InstanceBeat {
    const draining = this.deps.isDraining();
    return {
      startedAt: this.startedAt,
      ready: this.deps.store.isReady() && !draining,
      draining,
      figures: this.deps.figures.lastSecond(),
      redis: this.redisLink(),
    };
  }

  protected ownEntry(): LiveInstance {
    const beat = this.ownBeat();
    return {
      id: this.deps.instanceId,
      state: beat.draining ? 'draining' : 'up',
      lastSeen: new Date(this.clock()).toISOString(),
      startedAt: new Date(beat.startedAt).toISOString(),
      ready: beat.ready,
      draining: beat.draining,
      figures: beat.figures,
      redis: beat.redis,
    };
  }

  protected view(others: LiveInstance[], shared: boolean, stale: boolean): LiveInstancesView {
    const instances = [this.ownEntry(), ...others.filter((instance) => instance.id !== this.deps.instanceId)];
    return {
      observedBy: this.deps.instanceId,
      store: this.deps.store.mode,
      shared,
      stale,
      now: new Date(this.clock()).toISOString(),
      instances: instances.sort((a, b) => a.id.localeCompare(b.id)),
      history: this.deps.figures.history(),
    };
  }
}

/** The sticky variant: no store the instances share, so each shows itself and its own events. */
class LocalLiveView extends OwnView implements LiveView {
  private readonly recorded: StoredEvent[] = [];

  constructor(deps: LiveDeps) {
    super(deps);
    this.recorded.unshift({ at: this.startedAt, type: 'up', instance: deps.instanceId });
  }

  async instances(): Promise<LiveInstancesView> {
    return this.view([], false, false);
  }

  async events(): Promise<ClusterEventsView> {
    return { observedBy: this.deps.instanceId, shared: false, stale: false, events: this.recorded.map(eventView) };
  }

  noteDraining(): void {
    this.recorded.unshift({ at: this.clock(), type: 'draining', instance: this.deps.instanceId });
  }

  async close(): Promise<void> {}
}

/**
 * The shared store's live view: a heartbeat every BEAT_MS (one script: its figures, its place in the list,
 * and the gone and up events it notices), the events the instance reports itself (draining, a Redis outage
 * once Redis is back), a watch on the primary its client uses, and the board read back for the routes.
 */
class SharedLiveView extends OwnView implements LiveView {
  private readonly board: RedisBoard;
  private readonly primaries: PrimaryWatch;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Numbers this process's reported events, so a beat carried out twice records them once (RedisBoard.beat). */
  private readonly epoch = randomUUID();
  private seq = 0;
  private pending: ReportedEvent[] = [];
  /** Since when beats have succeeded without a break; null after a failed one. */
  private beatingSince: number | null = null;
  /** Since when beats have failed (the Redis outage this instance sees), and that outage's event number. */
  private failing: { since: number; seq: number } | null = null;
  private snapshot: { at: number; read: Promise<BoardSnapshot> } | undefined;
  private lastGood: BoardSnapshot = { instances: [], events: [] };

  constructor(deps: LiveDeps, redis: RedisClient) {
    super(deps);
    this.board = new RedisBoard(redis, deps.countCommands);
    this.primaries = new PrimaryWatch(redis, deps, this.board);
    if (deps.heartbeat) {
      this.primaries.start();
      this.timer = setInterval(() => this.beatOnce(), BEAT_MS).unref();
      this.beatOnce();
    }
  }

  protected override redisLink(): RedisLink {
    return { ...this.primaries.link(), reachable: this.deps.store.isReady() };
  }

  async instances(): Promise<LiveInstancesView> {
    const { snapshot, stale } = await this.read();
    return this.view(snapshot.instances, true, stale);
  }

  async events(): Promise<ClusterEventsView> {
    const { snapshot, stale } = await this.read();
    return { observedBy: this.deps.instanceId, shared: true, stale, events: snapshot.events.map(eventView) };
  }

  noteDraining(): void {
    this.pending.push({ seq: ++this.seq, event: { at: this.clock(), type: 'draining', instance: this.deps.instanceId } });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.primaries.stop();
    if (!this.deps.heartbeat) return;
    await this.beating;
    await this.send(true).catch(() => undefined);
  }

  private beatOnce(): void {
    // A beat still waiting on Redis (at most the command timeout) is not doubled.
    this.beating ??= this.send(false)
      .catch((err: Error) => this.deps.logger.debug({ err: err.message }, 'heartbeat failed'))
      .finally(() => {
        this.beating = undefined;
      });
  }

  /** One beat. The events go with it, so a failed beat keeps them for the next. */
  private async send(leave: boolean): Promise<void> {
    const now = this.clock();
    const taken = this.pending.length;
    const reported = [...this.pending];
    // Known once Redis answers again: from the first failed beat to this one, if it succeeds.
    const { failing } = this;
    if (failing) reported.push({ seq: failing.seq, event: { at: now, type: 'redis-outage', instance: this.deps.instanceId, since: failing.since, until: now } });
    const judge = this.beatingSince !== null && now - this.beatingSince >= GONE_AFTER_MS;
    try {
      await this.board.beat(this.deps.instanceId, this.ownBeat(), { judge, leave, epoch: this.epoch, reported });
    } catch (err) {
      this.beatingSince = null;
      this.failing ??= { since: now, seq: ++this.seq };
      throw err;
    }
    this.pending = this.pending.slice(taken);
    this.failing = null;
    this.beatingSince ??= now;
  }

  /** The board as last read, shared by every request within SNAPSHOT_MAX_AGE_MS; the last good one if Redis fails. */
  private async read(): Promise<{ snapshot: BoardSnapshot; stale: boolean }> {
    const now = this.clock();
    if (!this.snapshot || now - this.snapshot.at >= SNAPSHOT_MAX_AGE_MS) {
      this.snapshot = { at: now, read: this.board.read(now) };
    }
    try {
      this.lastGood = await this.snapshot.read;
      return { snapshot: this.lastGood, stale: false };
    } catch {
      return { snapshot: this.lastGood, stale: true };
    }
  }
}

/**
 * The primary (a Redis Cluster: the primaries) the instance's client is connected to, read on every connect
 * and slot-map refresh, with the role of the node (INFO replication). A change is how the apps see a Sentinel failover (+switch-master) or a shard's: the
 * first instance to see it records one primary-changed event (RedisBoard.switchPrimaries).
 */
class PrimaryWatch {
  private primaries: string[] = [];
  private role: RedisLink['role'] = null;
  private readonly onChange = () => void this.refresh();

  constructor(
    private readonly redis: RedisClient,
    private readonly deps: LiveDeps,
    private readonly board: RedisBoard,
  ) {}

  start(): void {
    this.redis.on(this.redis instanceof Cluster ? 'refresh' : 'ready', this.onChange);
    if (this.redis.status === 'ready') void this.refresh();
  }

  stop(): void {
    this.redis.off('refresh', this.onChange).off('ready', this.onChange);
  }

  link(): Omit<RedisLink, 'reachable'> {
    return { mode: this.deps.redisMode, primaries: this.primaries, role: this.role };
  }

  private async refresh(): Promise<void> {
    try {
      if (this.redis instanceof Cluster) {
        this.primaries = this.redis.nodes('master').map((node) => `${node.options.host}:${node.options.port}`).sort();
        this.role = 'primary';
      } else {
        const stream = this.redis.stream;
        this.primaries = stream?.remoteAddress ? [`${stream.remoteAddress}:${stream.remotePort}`] : [];
        this.role = await this.board.role();
      }
      // On every connect (and slot-map refresh: a cluster's are triggered by errors and MOVED, not a timer),
      // so a stored value lost in a failover is written again: one script, two commands when nothing changed.
      if (this.primaries.length > 0) await this.board.switchPrimaries(this.deps.instanceId, this.primaries);
    } catch (err) {
      this.deps.logger.debug({ err: (err as Error).message }, 'live view: reading the primary failed');
    }
  }
}
