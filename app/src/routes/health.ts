import { Router } from 'express';
import type { Registry } from 'prom-client';
import { HttpError } from '../errors';
import type { SessionStore } from '../session/types';

export function healthRoutes(store: SessionStore, registry: Registry, isDraining: () => boolean): Router {
  const router = Router();

  // Liveness: the process answers. Never depends on Redis, so an outage does not get apps restarted.
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Readiness: worth sending traffic to (store reachable — a PING answered within the command timeout — and
  // not shutting down).
  router.get('/readyz', async (_req, res) => {
    const store_ = (await store.checkReachable()) ? 'ok' : 'unavailable';
    const ready = store_ === 'ok' && !isDraining();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', store: store_, draining: isDraining() });
  });

  // The benchmark's no-session baseline (docs/benchmarks.md): mounted beside the health routes, before the
  // /api router and its session middleware, so it costs a request through nginx and Express and nothing
  // of the store. servedBy is the X-Served-By the first middleware stamped on the response.
  router.get('/api/ping', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ ok: true, servedBy: res.getHeader('X-Served-By') });
  });

  /*
   * `?name=…` (repeatable) answers only those metrics: a scraper that wants a few counters (the benchmark's
   * probe) does not make every instance read the cluster statistics, whose gauges cost a Redis script.
   */
  router.get('/metrics', async (req, res) => {
    const given = req.query.name;
    if (given === undefined) {
      res.type(registry.contentType).send(await registry.metrics());
      return;
    }
    const names = ([] as unknown[]).concat(given);
    const unknown = names.filter((name) => typeof name !== 'string' || !registry.getSingleMetric(name));
    if (unknown.length > 0) throw new HttpError(400, 'unknown_metric', `no such metric: ${unknown.map(String).join(', ')}`);
    const texts = await Promise.all((names as string[]).map((name) => registry.getSingleMetricAsString(name)));
    res.type(registry.contentType).send(`${texts.join('\n')}\n`);
  });

  return router;
}
