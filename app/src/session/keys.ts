import { createHmac, randomBytes } from 'node:crypto';
import { sessionHandle } from './handle';

/*
 * The Redis key layout (docs/architecture.md, "Keys and hash slots"). Redis Cluster runs a command, a MULTI
 * or a script only when all its keys hash to one slot, and a key's slot is that of its hash tag, the text
 * between its first `{` and the next `}`. Every key of one user carries the user's tag: their sessions,
 * their index and their ended-session markers live in one slot, so the extension script, logout and the
 * listing stay atomic on a cluster as on one Redis.
 *
 * The tag is an HMAC of the user id (the id itself never shows in a key), and a session id begins with its
 * user's tag in braces, so a request finds all its keys from the cookie alone: `{tag}` + 32 random chars.
 */
const TAG_LENGTH = 16; // base64url characters: 96 bits of the HMAC
const TAGGED_ID = new RegExp(`^\\{([A-Za-z0-9_-]{${TAG_LENGTH}})\\}`);

export const SESSION_PREFIX = 'sess:';

/** A session's id for a user: their tag, then 24 random bytes (as many as express-session's own ids). */
export function newSessionId(tag: string): string {
  return `{${tag}}${randomBytes(24).toString('base64url')}`;
}

/** The user's tag a session id carries; null for an id from before the tagged layout. */
export function tagOfSessionId(sid: string): string | null {
  return TAGGED_ID.exec(sid)?.[1] ?? null;
}

export const sessionKey = (sid: string) => SESSION_PREFIX + sid;

/** An ended session's marker, in its session's slot (an id from before the tags keeps its old marker name). */
export function endedKey(sid: string): string {
  const tag = tagOfSessionId(sid);
  return tag ? `ended-session:{${tag}}${sessionHandle(sid)}` : `ended-session:${sessionHandle(sid)}`;
}

/**
 * A session's activity log (activity.ts), a list in its session's slot, named by the session's handle so that
 * a user's request for one of their handles finds it under their own tag (activityKeyOf).
 */
export function activityKey(sid: string): string {
  const tag = tagOfSessionId(sid);
  return tag ? activityKeyOf(tag, sessionHandle(sid)) : `activity:${sessionHandle(sid)}`;
}

export const activityKeyOf = (tag: string, handle: string) => `activity:{${tag}}${handle}`;

/**
 * The record of one write to a session (a visit, a cart change) that Redis applied, in its session's slot: a copy
 * of the write that ioredis sends again after a dropped connection finds it and changes nothing (redis-store.ts).
 * `writeId` is random, one per write.
 */
export function appliedWriteKey(sid: string, writeId: string): string {
  const tag = tagOfSessionId(sid);
  return tag ? `applied-write:{${tag}}${writeId}` : `applied-write:${writeId}`;
}

/** A fresh id for one write (96 random bits): never the same for two writes, the same for a re-sent copy. */
export const newWriteId = () => randomBytes(12).toString('base64url');

/** The statistics' keys (stats.ts), in the order the stats script takes them. */
export const STATS_KEY_NAMES = ['live', 'meta', 'users', 'created', 'ended', 'durations', 'logins'] as const;

/** The keys of one deployment: the tags are keyed with its SESSION_TAG_SECRET. */
export class SessionKeys {
  constructor(private readonly tagSecret: string) {}

  /**
   * The statistics' keys, all under one tag of their own (one slot on a cluster: the stats script's keys go
   * together), keyed like the users' tags, so two deployments on one Redis keep their figures apart.
   */
  statsKeys(): string[] {
    const tag = createHmac('sha256', this.tagSecret).update('\0statistics').digest('base64url').slice(0, TAG_LENGTH);
    return STATS_KEY_NAMES.map((name) => `stats:{${tag}}${name}`);
  }

  userTag(userId: string): string {
    return createHmac('sha256', this.tagSecret).update(userId).digest('base64url').slice(0, TAG_LENGTH);
  }

  /** The user's sessions by expiry (a sorted set), in the slot of their tag. */
  userIndexKey(userId: string): string {
    return `user-sessions:{${this.userTag(userId)}}`;
  }
}
