/**
 * `npm run bench:app`'s floor: bare express answering GET /api/ping, no middleware at all. What any
 * Express request costs on this machine; every other figure is read against it.
 *
 *   PORT=3101 tsx loadtest/app-bench/bare-server.ts
 */
import express from 'express';

const app = express();
app.get('/api/ping', (_req, res) => {
  res.json({ ok: true });
});

const server = app.listen(Number(process.env.PORT ?? 3101), '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
