import { spawnSync } from 'node:child_process';
import path from 'node:path';
import redisGlobalSetup from '../global-setup';

/**
 * The integration suite's Redis (reused as is), and the dashboard's browser code compiled the way
 * `npm run build` compiles it, so the page the tests load is the current source, built or not.
 */
export default async function globalSetup(): Promise<void> {
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'app/web/tsconfig.json'], {
    cwd: path.resolve(__dirname, '../..'),
    encoding: 'utf8',
  });
  if (tsc.status !== 0) throw new Error(`compiling the dashboard (app/web) failed:\n${tsc.stdout}${tsc.stderr}`);
  await redisGlobalSetup();
}
