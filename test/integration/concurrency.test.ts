import { TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';

/** express-session writes whole blobs; these prove the counter and the cart take an atomic path instead. */
describe.each([
  { mode: 'redis', env: { SESSION_STORE: 'redis' } },
  { mode: 'memory', env: { SESSION_STORE: 'memory' } },
])('parallel updates on one session ($mode store)', ({ mode, env }) => {
  let app: TestInstance;

  beforeAll(async () => {
    app = await startInstance({ ...env, INSTANCE_ID: `concurrency-${mode}` });
  });
  afterAll(async () => {
    await app.close();
  });

  test('when 50 POST /api/visits run in parallel, then the counter ends at exactly 50 and the answers are exactly 1 to 50', async () => {
    const client = new TestClient();
    await client.login(app);

    const responses = await Promise.all(Array.from({ length: 50 }, () => client.post(app, '/api/visits')));

    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const values = responses.map((r) => r.body.visits as number).sort((x, y) => x - y);
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await client.get(app, '/api/session')).body.visits).toBe(50);
  });

  test('when 30 different products are added in parallel, then all 30 are in the cart', async () => {
    const client = new TestClient();
    await client.login(app);
    const products = Array.from({ length: 30 }, (_, i) => `product-${String(i).padStart(2, '0')}`);

    const responses = await Promise.all(products.map((productId, i) => client.post(app, '/api/cart/items', { productId, quantity: (i % 3) + 1 })));

    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    const cart = await client.get(app, '/api/cart');
    expect(cart.body.items).toEqual(products.map((productId, i) => ({ productId, quantity: (i % 3) + 1 })));
  });

  test('when the same product is added 20 times in parallel, then its quantity is the sum of all 20', async () => {
    const client = new TestClient();
    await client.login(app);
    await client.post(app, '/api/cart/items', { productId: 'other', quantity: 1 });

    const responses = await Promise.all(Array.from({ length: 20 }, () => client.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 })));

    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const quantities = responses.map((r) => (r.body.items as { productId: string; quantity: number }[]).find((i) => i.productId === 'tea')!.quantity);
    expect(quantities.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (i + 1)));
    expect((await client.get(app, '/api/cart')).body.items).toEqual([
      { productId: 'other', quantity: 1 },
      { productId: 'tea', quantity: 40 },
    ]);
  });

  test('when visits and cart adds interleave in parallel, then neither loses the other’s updates', async () => {
    const client = new TestClient();
    await client.login(app);

    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? client.post(app, '/api/visits') : client.post(app, '/api/cart/items', { productId: `p${i}`, quantity: 1 }))),
    );

    const view = await client.get(app, '/api/session');
    expect(view.body.visits).toBe(20);
    expect(view.body.cart.items).toHaveLength(20);
  });
});

describe('parallel updates through two instances (redis store)', () => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    a = await startInstance({ INSTANCE_ID: 'concurrency-a' });
    b = await startInstance({ INSTANCE_ID: 'concurrency-b' });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  test('when 50 POST /api/visits are spread over two instances in parallel, then the counter still ends at exactly +50', async () => {
    const client = new TestClient();
    await client.login(a);

    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => client.post(i % 2 ? a : b, '/api/visits')));

    expect(new Set(responses.map((r) => r.body.visits))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i + 1)));
    expect((await client.get(b, '/api/session')).body.visits).toBe(50);
  });
});
