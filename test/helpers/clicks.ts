import { sleep } from '../../toolkit/time';
import type { Target, TestClient } from './client';

/**
 * Each client clicks POST /api/visits every 20 ms, one request at a time, until stop(), which resolves to
 * each client's last acknowledged count. A click answered other than 200 counts as failed.
 */
export function clickUntilStopped(clients: TestClient[], target: Target) {
  const acknowledged = clients.map(() => 0);
  let [requests, failed, lastFailureAt, running] = [0, 0, 0, true];
  const loops = clients.map(async (client, i) => {
    while (running) {
      const res = await client.post(target, '/api/visits');
      requests += 1;
      if (res.status === 200) acknowledged[i] = res.body.visits;
      else [failed, lastFailureAt] = [failed + 1, Date.now()];
      await sleep(20);
    }
  });
  return {
    requests: () => requests,
    failed: () => failed,
    /** Epoch ms of the latest failed click; 0 while none has failed. */
    lastFailureAt: () => lastFailureAt,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acknowledged;
    },
  };
}
