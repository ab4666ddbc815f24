import { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../errors';
import { requireCsrf, requireSession } from '../session/guards';
import { sessionHandle } from '../session/handle';
import { endCurrentSession } from '../session/lifecycle';
import type { LiveSession, SessionDeps } from '../session/types';
import { deviceSessionView } from '../session/view';
import { parse } from '../validate';

const handle = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a session handle (22 characters)');

/** A user's sessions on every device, listed and revoked from any instance through the per-user index. */
export function devicesRoutes(deps: SessionDeps): Router {
  const router = Router();
  const { config, store, metrics } = deps;

  router.get('/sessions', requireSession(deps), async (req, res) => {
    const { userId } = req.session as LiveSession;
    const sessions = (await store.listForUser(userId))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => deviceSessionView(s, req.sessionID));
    res.json({ sessions });
  });

  router.delete('/sessions/:handle', requireSession(deps), requireCsrf(config), async (req, res) => {
    const wanted = parse(handle, req.params.handle, 'handle');
    const { userId } = req.session as LiveSession;
    const target = (await store.listForUser(userId)).find((s) => sessionHandle(s.sid) === wanted);
    if (!target) throw new HttpError(404, 'session_not_found', 'no live session of yours has this handle');
    if (target.sid === req.sessionID) {
      await endCurrentSession(deps, req, res, 'revoked');
    } else {
      await store.end(userId, target.sid, 'revoked', target.expiresAt);
      metrics.sessionsEnded.inc({ reason: 'revoked' });
    }
    res.status(204).end();
  });

  // "Log out my other devices": every session of the user but this one.
  router.delete('/sessions', requireSession(deps), requireCsrf(config), async (req, res) => {
    const { userId } = req.session as LiveSession;
    const others = (await store.listForUser(userId)).filter((s) => s.sid !== req.sessionID);
    await Promise.all(others.map((s) => store.end(userId, s.sid, 'revoked', s.expiresAt)));
    if (others.length > 0) metrics.sessionsEnded.inc({ reason: 'revoked' }, others.length);
    res.status(204).end();
  });

  return router;
}
