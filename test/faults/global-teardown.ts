import { faultsCompose, faultsInfo } from './faults';

export default async function globalTeardown(): Promise<void> {
  if (!process.env.SC_FAULTS) return;
  const { project } = faultsInfo();
  if (process.env.KEEP_CLUSTER === '1') {
    console.log(`KEEP_CLUSTER=1: project ${project} left running`);
    return;
  }
  // --remove-orphans also takes the placeholder container scenario 3 may have left behind.
  faultsCompose().run(['down', '-v', '--remove-orphans'], 300_000);
}
