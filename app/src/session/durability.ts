import type { RedisClient } from '../redis';

/*
 * SESSION_WRITE_DURABILITY=replicated (docs/operations.md, "Durable writes"). Redis replicates
 * asynchronously: the primary answers a write before any replica has it, so a failover can lose it. WAIT
 * N T blocks its client until N replicas acknowledged every write that client's connection made so far, or
 * T ms passed, and answers how many did. So it must follow the write on the same connection; in one
 * pipeline with it, ioredis also sends both to the node holding the write's slot on a Redis Cluster (WAIT
 * has no key), and never resends the WAIT alone after a reconnect, where it would cover nothing.
 */

/** A write the primary answered, but fewer replicas than required acknowledged within the wait: a failover may lose it. */
export class WriteNotReplicatedError extends Error {
  override name = 'WriteNotReplicatedError';
  constructor(
    readonly operation: string,
    readonly acknowledged: number,
    readonly required: number,
    readonly waitMs: number,
  ) {
    super(`session write ${operation}: ${acknowledged} of ${required} replicas acknowledged it within ${waitMs} ms`);
  }
}

/** What the Redis store needs to wait for its replicas. */
export interface ReplicatedWrites {
  /**
   * A connection for the session writes alone: a WAIT holds back every later command on its connection until
   * it returns, and the reads must not queue behind it.
   */
  client: RedisClient;
  replicas: number;
  waitMs: number;
  /** Told of each write not replicated in time, before its error is thrown (the counter, the log line). */
  notReplicated(err: WriteNotReplicatedError): void;
}
