import { scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { PublicUser, UserRole } from './http-contract';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

interface DemoUser extends Omit<PublicUser, 'role'> {
  /** Absent: an ordinary user. */
  role?: UserRole;
  /** scrypt$N$r$p$salt$hash (base64url); the passwords are in the README. */
  passwordHash: string;
}

// Demo accounts. Their plain passwords are documented (README) because this is a demo, not a product.
const USERS: readonly DemoUser[] = [
  { id: 'u-alice', username: 'alice', displayName: 'Alice', passwordHash: 'scrypt$16384$8$1$28Ee5EBNvpPCpGJ1xH8OWQ$sIsrssn4wg7HE97ayZN9JpTDL6Pkwn8PwJc0hgfhtwA' },
  { id: 'u-bob', username: 'bob', displayName: 'Bob', passwordHash: 'scrypt$16384$8$1$9hhF2HQOTvowGHc7W1MHHQ$PUo8fT651cU6bCr9k_M40B4OoN7bLGcWv0HZCduT7yE' },
  { id: 'u-carol', username: 'carol', displayName: 'Carol', passwordHash: 'scrypt$16384$8$1$gfRtn1TrRmW4tBKwBbLJlg$PNlZO4dvyDGMrXn5V5l2cah8g7Gt8D9vDJw5hJCD5p8' },
  { id: 'u-admin', username: 'admin', displayName: 'Admin', role: 'admin', passwordHash: 'scrypt$16384$8$1$LbcHnsLoT3NYMaxKRuiFYA$lO81bK1V8X4-zZ5Wxl2eZmzRULqYReILMQeD4Xl_M4A' },
];

export const DEMO_USER_IDS: readonly string[] = USERS.map((u) => u.id);

// An unknown name still costs one scrypt, so response time does not tell which names exist.
const DECOY_HASH = USERS[0]!.passwordHash;

async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [, n, r, p, salt, hash] = encoded.split('$') as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

const publicFields = (user: DemoUser): PublicUser => ({ id: user.id, username: user.username, displayName: user.displayName, role: user.role ?? 'user' });

/** The user these credentials belong to, or null. */
export async function authenticate(username: string, password: string): Promise<PublicUser | null> {
  const user = USERS.find((u) => u.username === username.toLowerCase());
  const ok = await verifyPassword(password, user?.passwordHash ?? DECOY_HASH);
  if (!user || !ok) return null;
  return publicFields(user);
}

/** The user a session names (sessions store the id alone), or null when no such user exists (any more). */
export function userById(id: string): PublicUser | null {
  const user = USERS.find((u) => u.id === id);
  return user ? publicFields(user) : null;
}
