import { Router } from 'express';
import type { LiveView } from '../live/live-view';

/**
 * The live cluster view: every instance seen in the last minute and what happened to the cluster. Mounted
 * before the session middleware (app.ts), like /api/ping: a page polling once a second costs no session read,
 * and Redis at most one board reading per instance every 250 ms, whatever the number of pages.
 */
export function liveRoutes(live: LiveView): Router {
  const router = Router();

  router.get('/cluster/instances', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await live.instances());
  });

  router.get('/cluster/events', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await live.events());
  });

  return router;
}
