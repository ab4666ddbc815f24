export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sleeps until the wall clock reaches `epochMs` (at once when it already has). */
export const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));
