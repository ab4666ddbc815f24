import { cutAll, cutOff } from '../../toolkit/netfault';
import { MASTER_NAME, sentinelCommand } from '../../toolkit/sentinel';
import { SENTINEL_SERVICES } from '../../toolkit/services';
import { sleep, waitFor } from '../../toolkit/time';
import { cutsHealedAfterEach, faultsCompose, loadFigures, outcome, reportFault, secondsBetween, sentinelViews, startLoad, waitSteady } from './faults';

/** How long the Sentinels stay apart: four times down-after-milliseconds (5 s). */
const CUT_MS = 20_000;

/**
 * Fault 13: the three Sentinels cut off from each other (each still reaches both Redis nodes and the apps).
 * None can gather the quorum (2) or a majority to elect a leader: nothing is promoted, and the primary —
 * which nothing is wrong with — goes on taking writes.
 */
describe('fault 13: the Sentinels partitioned from each other', () => {
  const compose = faultsCompose();
  const cuts = cutsHealedAfterEach(compose);

  test('when no Sentinel can reach another for 20 s under load, then each sees it has no quorum, nothing is promoted, and no request fails', async () => {
    const { primary } = await waitSteady();
    const fleet = await startLoad();
    await sleep(3000);

    const [s1, s2, s3] = SENTINEL_SERVICES as [string, string, string];
    // s1's rules cut s1 ⇹ s2 and s1 ⇹ s3 both ways; s2's cut s2 ⇹ s3.
    cuts.keep(cutAll([() => cutOff(compose, s1, [s2, s3]), () => cutOff(compose, s2, [s3])]));
    const cutAt = Date.now();
    const noQuorum = await waitFor('every Sentinel to see it has no quorum', () => {
      const replies = SENTINEL_SERVICES.map((s) => sentinelCommand(compose, s, 'ckquorum', MASTER_NAME));
      return replies.every((r) => /^NOQUORUM/.test(r)) ? replies : undefined;
    }, CUT_MS, 500);
    const noQuorumAfterS = secondsBetween(cutAt, Date.now());
    const views: (string | undefined)[][] = [];
    while (Date.now() - cutAt < CUT_MS) {
      views.push(sentinelViews(compose));
      await sleep(1000);
    }
    cuts.heal();
    const healedAt = Date.now();
    await waitFor('every Sentinel to see its quorum again', () => SENTINEL_SERVICES.every((s) => /^OK/.test(sentinelCommand(compose, s, 'ckquorum', MASTER_NAME))), 60_000, 500);
    const quorumBackAfterS = secondsBetween(healedAt, Date.now());
    const report = await fleet.stop();
    const mended = await outcome(waitSteady(60_000));

    const named = new Set(views.flat());
    reportFault('13. Sentinels partitioned from each other 20 s', {
      cut: `${s1} ⇹ ${s2}, ${s1} ⇹ ${s3}, ${s2} ⇹ ${s3}`,
      primary,
      noQuorumAfterS,
      ckquorumDuringCut: noQuorum[0],
      primariesNamedDuringCut: [...named],
      quorumBackAfterHealS: quorumBackAfterS,
      ...loadFigures(report, fleet.samples()),
      mended,
    }, fleet.samples());

    expect([...named]).toEqual([primary]);
    expect(compose.sentinelPrimary()).toBe(primary);
    expect(report.failed).toEqual({ GET: 0, POST: 0 });
    expect(report.sessionsLost).toBe(0);
    expect(report.requests).toBeGreaterThan(200);
    expect(mended).toBe('ok');
  }, 180_000);
});
