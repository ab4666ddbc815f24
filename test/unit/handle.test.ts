import { sessionHandle } from '../../app/src/session/handle';

const SID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

describe('sessionHandle', () => {
  test('when called twice with one id, then the handle is the same, 22 URL-safe characters', () => {
    const first = sessionHandle(SID);
    const second = sessionHandle(SID);

    expect(first).toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('when two ids differ, then their handles differ', () => {
    expect(sessionHandle(SID)).not.toBe(sessionHandle(`${SID}x`));
  });

  test('when a handle is made, then it contains no part of the id', () => {
    const handle = sessionHandle(SID);

    expect(handle).not.toContain(SID);
    expect(handle).not.toContain(SID.slice(0, 8));
  });
});
