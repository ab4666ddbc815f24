// The toolkit for the shell scripts (loadtest/lib/stack.sh): `tsx toolkit/cli.ts <command>` prints one line.
//   compose-command   the compose command line to use (`docker compose` or `docker-compose`; SC_COMPOSE=v1|v2)
//   free-port         a loopback TCP port nothing listens on
//   k6-binary         the k6 to run: $K6, k6 on PATH, else the one .ci/k6.sh builds
//   product-image N   the image docker-compose.yml runs for N (redis, nginx, grafana/k6…)
import { composeCommand } from './compose';
import { productImage } from './images';
import { k6Binary } from './k6';
import { freePort } from './ports';

const COMMANDS: Record<string, (arg?: string) => string | Promise<string>> = {
  'compose-command': () => composeCommand().join(' '),
  'free-port': async () => String(await freePort()),
  'k6-binary': k6Binary,
  'product-image': (name = '') => productImage(name),
};

async function main(command = '', arg?: string): Promise<number> {
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`usage: tsx toolkit/cli.ts ${Object.keys(COMMANDS).join(' | ')}\n`);
    return 2;
  }
  process.stdout.write(`${await run(arg)}\n`);
  return 0;
}

if (require.main === module) void main(process.argv[2], process.argv[3]).then((code) => (process.exitCode = code));
