import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';

/** The rules of redis/session-app.acl, as redis/start.sh passes them to redis-server. */
export function appUserRules(): string[] {
  const text = readFileSync(path.resolve(__dirname, '../../redis/session-app.acl'), 'utf8');
  return text.replace(/#.*$/gm, '').split(/\s+/).filter((word) => word.length > 0);
}

/** Makes `username` on the Redis `admin` is connected to, with the rules of redis/session-app.acl and `password`. */
export async function createAppUser(admin: Redis, username: string, password: string): Promise<void> {
  for (const rule of appUserRules()) {
    try {
      await admin.acl('SETUSER', username, rule);
    } catch (err) {
      // A command this Redis does not have (CLIENT SETINFO before 7.2) cannot be granted, nor sent by the app.
      const command = rule.replace(/^\+/, '');
      if (((await admin.call('COMMAND', 'INFO', command)) as unknown[])[0] !== null) throw err;
    }
  }
  await admin.acl('SETUSER', username, 'on', `>${password}`);
}
