import { HISTORY_SECONDS, RequestFigures } from '../../app/src/live/figures';

describe('RequestFigures (the live view, per second, in process)', () => {
  let now = 0;
  const figuresAt = (start: number) => {
    now = start;
    return new RequestFigures(() => now);
  };

  test('when requests finish in a second, then the next second publishes their count, the 5xx among them and the p95 bucket', () => {
    const figures = figuresAt(1_000_000);
    for (let i = 0; i < 19; i++) figures.record(4, 200);
    figures.record(250, 503);

    now += 1000;
    const last = figures.lastSecond();

    expect(last).toEqual({ second: new Date(1_000_000).toISOString(), requests: 20, errors: 1, p95Ms: 5 });
  });

  test('when one request in twenty is slow, then p95 is still the fast bucket; two in twenty, the slow one', () => {
    const one = figuresAt(2_000_000);
    for (let i = 0; i < 19; i++) one.record(1, 200);
    one.record(900, 200);
    const two = new RequestFigures(() => now);
    for (let i = 0; i < 18; i++) two.record(1, 200);
    for (let i = 0; i < 2; i++) two.record(900, 200);

    now += 1000;

    expect(one.lastSecond().p95Ms).toBe(1);
    expect(two.lastSecond().p95Ms).toBe(1000);
  });

  test('when a second had no request, or a slot is reused two minutes later, then it reads zero, never an old count', () => {
    const figures = figuresAt(3_000_000);
    figures.record(2, 200);

    now += 1000 * (HISTORY_SECONDS + 1);
    figures.record(2, 500);
    now += 1000;
    const history = figures.history();

    expect(figures.lastSecond()).toMatchObject({ requests: 1, errors: 1 });
    expect(history.requests).toHaveLength(HISTORY_SECONDS);
    expect(history.requests.reduce((a, b) => a + b, 0)).toBe(1);
    expect(history.p95Ms.filter((p) => p !== null)).toEqual([2]);
    expect(Date.parse(history.from)).toBe(now - 1000 * HISTORY_SECONDS - (now % 1000));
  });

  test('when a request takes longer than the last bucket, then p95 reads that bound (at least 10 s)', () => {
    const figures = figuresAt(4_000_000);
    figures.record(60_000, 200);

    now += 1000;

    expect(figures.lastSecond().p95Ms).toBe(10_000);
  });
});
