import { Router } from 'express';
import type { StatsView } from '../http-contract';
import { summarizeStats } from '../session/stats';
import type { SessionDeps } from '../session/types';

/** The sessions' figures: the whole cluster's from a shared store, this instance's in the sticky variant. */
export async function readStats({ config, store }: Pick<SessionDeps, 'config' | 'store'>): Promise<StatsView> {
  return summarizeStats(await store.stats(), store.mode === 'redis', config.instanceId);
}

/** GET /api/stats: answered without a session, like /api/cluster. */
export function statsRoutes(deps: SessionDeps): Router {
  const router = Router();
  router.get('/stats', async (_req, res) => {
    res.json(await readStats(deps));
  });
  return router;
}
