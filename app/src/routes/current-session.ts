import { Router } from 'express';
import { activityOf } from '../session/activity';
import { endedSessionError, requireCsrf, requireSession } from '../session/guards';
import type { SessionDeps } from '../session/types';
import { sessionView } from '../session/view';

/** The request's own session: reading it, and the visit counter on it. */
export function currentSessionRoutes(deps: SessionDeps): Router {
  const router = Router();
  const { config, store } = deps;

  router.get('/session', requireSession(deps), (req, res) => {
    res.json(sessionView(req, res, config));
  });

  // The continuity probe: one atomic increment per call, so N calls on one session end at exactly +N.
  router.post('/visits', requireSession(deps), requireCsrf(config), async (req, res) => {
    const visits = await store.incrementVisits(req.sessionID, activityOf(req, config, 'visit'));
    if (visits === null) throw await endedSessionError(deps, req, res, req.sessionID);
    res.json({ visits });
  });

  return router;
}
