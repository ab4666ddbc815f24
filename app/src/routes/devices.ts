import { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../errors';
import type { ActivityView } from '../http-contract';
import { activityEvents } from '../session/activity';
import { requireCsrf, requireRecentLogin, requireSession } from '../session/guards';
import { sessionHandle } from '../session/handle';
import { endCurrentSession, revokeSessions } from '../session/lifecycle';
import type { LiveSession, SessionDeps } from '../session/types';
import { deviceSessionView } from '../session/view';
import { parse } from '../validate';

const handle = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a session handle (22 characters)');

/** A user's sessions on every device, listed and revoked from any instance through the per-user index. */
export function devicesRoutes(deps: SessionDeps): Router {
  const router = Router();
  const { config, store } = deps;

  router.get('/sessions', requireSession(deps), async (req, res) => {
    const { userId } = req.session as LiveSession;
    const sessions = (await store.listForUser(userId))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => deviceSessionView(s, req.sessionID));
    res.json({ sessions });
  });

  // One of the user's sessions, current or ended within the log's retention: what changed it, newest first.
  router.get('/sessions/:handle/activity', requireSession(deps), async (req, res) => {
    const wanted = parse(handle, req.params.handle, 'handle');
    const { userId } = req.session as LiveSession;
    const log = await store.activity(userId, wanted);
    if (!log) throw new HttpError(404, 'session_not_found', 'no session of yours, live or ended in the last 24 h, has this handle');
    res.json({ handle: wanted, current: wanted === sessionHandle(req.sessionID), events: activityEvents(log.entries, log.sessionExpiresAt) } satisfies ActivityView);
  });

  router.delete('/sessions/:handle', requireSession(deps), requireCsrf(config), async (req, res) => {
    const wanted = parse(handle, req.params.handle, 'handle');
    const { userId } = req.session as LiveSession;
    const target = (await store.listForUser(userId)).find((s) => sessionHandle(s.sid) === wanted);
    if (!target) throw new HttpError(404, 'session_not_found', 'no live session of yours has this handle');
    if (target.sid === req.sessionID) {
      await endCurrentSession(deps, req, res, 'revoked');
    } else {
      await revokeSessions(deps, req, userId, [target], { revokedBy: 'device', handle: sessionHandle(req.sessionID) });
    }
    res.status(204).end();
  });

  // "Log out my other devices": every session of the user but this one, after a recent password check.
  router.delete('/sessions', requireSession(deps), requireCsrf(config), requireRecentLogin(config), async (req, res) => {
    const { userId } = req.session as LiveSession;
    const others = (await store.listForUser(userId)).filter((s) => s.sid !== req.sessionID);
    await revokeSessions(deps, req, userId, others, { revokedBy: 'device', handle: sessionHandle(req.sessionID) });
    res.status(204).end();
  });

  return router;
}
