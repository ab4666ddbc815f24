export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Sleeps until the wall clock reaches `epochMs` (at once when it already has). */
export const sleepUntil = (epochMs: number) => sleep(epochMs - Date.now());

/** Polls `check` until it returns something truthy, which it returns; throws after timeoutMs. A check that throws counts as "not yet". */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs: number, intervalMs = 250): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = (err as Error).message.split('\n')[0] ?? '';
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(intervalMs);
  }
}
