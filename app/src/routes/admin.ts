import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { HttpError } from '../errors';
import type { AdminEndedSessions, AdminUserSessions, PublicUser } from '../http-contract';
import { requireAdmin, requireCsrf, requireRecentLogin, requireSession } from '../session/guards';
import { endCurrentSession, revokeSessions } from '../session/lifecycle';
import type { LiveSession, SessionDeps } from '../session/types';
import { deviceSessionView } from '../session/view';
import { userById } from '../users';
import { parse } from '../validate';

const userId = z.string().regex(/^u-[a-z0-9-]{1,32}$/, "a user id ('u-' then 1 to 32 lowercase letters, digits or '-')");

/**
 * An admin's view of any user's sessions, and the force-logout: every session of that user ends in the shared
 * store at once, so each one's next request gets 401 session_revoked on whichever instance serves it. (In
 * the sticky variant the store is this instance's memory: only the sessions pinned to it.) Both routes need
 * the admin role and a recent password check; ending needs the CSRF token too.
 */
export function adminRoutes(deps: SessionDeps): Router {
  const router = Router();
  const { config, store } = deps;
  const session = requireSession(deps);
  const recentLogin = requireRecentLogin(config);

  function targetUser(req: Request): PublicUser {
    const id = parse(userId, req.params.userId, 'userId');
    const user = userById(id);
    if (!user) throw new HttpError(404, 'user_not_found', `no user has the id ${id}`);
    return user;
  }

  router.get('/admin/users/:userId/sessions', session, requireAdmin, recentLogin, async (req, res) => {
    const user = targetUser(req);
    const sessions = (await store.listForUser(user.id))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => deviceSessionView(s, req.sessionID));
    res.json({ user, sessions } satisfies AdminUserSessions);
  });

  router.delete('/admin/users/:userId/sessions', session, requireAdmin, requireCsrf(config), recentLogin, async (req: Request, res: Response) => {
    const user = targetUser(req);
    const sessions = await store.listForUser(user.id);
    const others = sessions.filter((s) => s.sid !== req.sessionID);
    const by = { revokedBy: 'admin', admin: userById((req.session as LiveSession).userId)!.username } as const;
    await revokeSessions(deps, req, user.id, others, by);
    // An admin ending their own sessions ends this one too, last, as revoking one's own handle does.
    if (others.length < sessions.length) await endCurrentSession(deps, req, res, 'revoked', by);
    res.json({ user, ended: sessions.length } satisfies AdminEndedSessions);
  });

  return router;
}
