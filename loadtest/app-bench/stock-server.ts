/**
 * The reference peer of `npm run bench:app`: the stock setup every express-session tutorial shows, and
 * nothing else. express + express-session + connect-redis + ioredis, `resave: false`,
 * `saveUninitialized: false`; no logging, no security headers, no metrics, no CSRF, no rate limit.
 * Its routes answer what this app's routes of the same name answer, in the same shape of work:
 * - POST /api/login   { username }: a new session holding the user and a visit counter
 * - GET  /api/session the session's user and counter (express-session reads it, then touches it)
 * - POST /api/visits  counter + 1 (express-session writes the whole session back)
 * - GET  /api/ping    no session
 *
 *   PORT=3100 REDIS_URL=redis://127.0.0.1:6379 tsx loadtest/app-bench/stock-server.ts
 */
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import Redis from 'ioredis';

/** What a tutorial declares on SessionData; a local type here, so it does not change the app's SessionData. */
type StockSession = session.Session & { user?: string; visits?: number };
const own = (req: express.Request) => req.session as StockSession;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const app = express();
app.use(express.json());
app.use(
  session({
    store: new RedisStore({ client: redis }),
    secret: process.env.SESSION_SECRET ?? 'stock-setup-secret',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 30 * 60 * 1000 },
  }),
);

app.post('/api/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    const sess = own(req);
    sess.user = String(req.body?.username ?? 'alice');
    sess.visits = 0;
    res.json({ user: sess.user });
  });
});
app.get('/api/session', (req, res) => {
  const sess = own(req);
  if (!sess.user) return void res.status(401).json({ error: 'not_logged_in' });
  res.json({ user: sess.user, visits: sess.visits });
});
app.post('/api/visits', (req, res) => {
  const sess = own(req);
  if (!sess.user) return void res.status(401).json({ error: 'not_logged_in' });
  sess.visits = (sess.visits ?? 0) + 1;
  res.json({ visits: sess.visits });
});
app.get('/api/ping', (_req, res) => {
  res.json({ ok: true });
});

const server = app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => server.close(() => redis.quit().finally(() => process.exit(0))));
}
