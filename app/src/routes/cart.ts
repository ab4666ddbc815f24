import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { HttpError } from '../errors';
import { activityOf } from '../session/activity';
import { endedSessionError, requireCsrf, requireSession } from '../session/guards';
import type { CartUpdate, LiveSession, SessionDeps } from '../session/types';
import { cartItems } from '../session/view';
import { parse } from '../validate';

const productId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or - (1 to 64)');

const newItem = z.strictObject({
  productId,
  quantity: z.number().int().min(1).max(99),
});

export function cartRoutes(deps: SessionDeps): Router {
  const router = Router();
  const { config, store } = deps;
  const guard = requireSession(deps);

  async function reply(req: Request, res: Response, update: CartUpdate) {
    if (update.status === 'missing') throw await endedSessionError(deps, req, res, req.sessionID);
    if (update.status === 'too_large') {
      throw new HttpError(413, 'session_too_large', `the session would grow to ${update.bytes} bytes; the limit is ${config.session.maxBytes}`);
    }
    res.json({ items: cartItems(update.cart) });
  }

  router.get('/cart', guard, (req, res) => {
    res.json({ items: cartItems((req.session as LiveSession).cart) });
  });

  // Each add is one atomic update in the store: parallel adds to one cart all land.
  router.post('/cart/items', guard, requireCsrf(config), async (req, res) => {
    const item = parse(newItem, req.body);
    const entry = activityOf(req, config, 'cart_add', { productId: item.productId, quantity: item.quantity });
    await reply(req, res, await store.addToCart(req.sessionID, item.productId, item.quantity, config.session.maxBytes, entry));
  });

  router.delete('/cart/items/:productId', guard, requireCsrf(config), async (req, res) => {
    const id = parse(productId, req.params.productId, 'productId');
    await reply(req, res, await store.removeFromCart(req.sessionID, id, activityOf(req, config, 'cart_remove', { productId: id })));
  });

  return router;
}
