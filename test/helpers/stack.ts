import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StackInfo } from '../../toolkit/stack';
import { waitForSteadyStack } from '../../toolkit/steady';

const ROOT = path.resolve(__dirname, '../..');

/** A suite's stack, as its global setup handed it on in the environment variable `variable` (JSON). */
export function stackFromEnv<T extends StackInfo>(variable: string, suite: string, command: string): T {
  const raw = process.env[variable];
  if (!raw) throw new Error(`${variable} is not set: run the ${suite} through \`${command}\``);
  return JSON.parse(raw) as T;
}

/**
 * The hooks of a suite's setup file: every test starts from a steady stack and must leave one (a test that
 * breaks something mends it in its own hooks), so no test depends on the order jest runs them in.
 */
export function keepStackSteady(target: () => StackInfo): void {
  beforeEach(async () => {
    await waitForSteadyStack(target());
  }, 180_000);
  afterEach(async () => {
    await waitForSteadyStack(target());
  }, 180_000);
}

/**
 * Prints a scenario's figures and appends them to .artifacts/<file> (cluster-figures.jsonl unless told)
 * for the closing report.
 */
export function reportFigures(scenario: string, figures: Record<string, unknown>, file = 'cluster-figures.jsonl'): void {
  const line = JSON.stringify({ scenario, at: new Date().toISOString(), ...figures });
  console.log(line);
  mkdirSync(path.join(ROOT, '.artifacts'), { recursive: true });
  appendFileSync(path.join(ROOT, '.artifacts', file), `${line}\n`);
}
