import { counterStep } from '../../loadtest/lib/continuity';

describe('counterStep (did the session counter continue?)', () => {
  test('exactly +1 continues', () => {
    expect(counterStep(5, 6, 0)).toBe('continued');
  });

  test('up to +1 more per unanswered POST in between continues: each may have landed before failing', () => {
    expect(counterStep(5, 6, 2)).toBe('continued');
    expect(counterStep(5, 8, 2)).toBe('continued');
  });

  test('the same value, less, or a reset is stale: acknowledged writes were lost', () => {
    expect(counterStep(5, 5, 0)).toBe('stale');
    expect(counterStep(5, 3, 4)).toBe('stale');
    expect(counterStep(5, 1, 0)).toBe('stale');
  });

  test('further than the unanswered POSTs allow is late: one was applied after a later one', () => {
    expect(counterStep(5, 7, 0)).toBe('late');
    expect(counterStep(5, 9, 2)).toBe('late');
  });
});
