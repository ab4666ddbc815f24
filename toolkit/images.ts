import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/**
 * The image the product runs for `name` (redis, nginx, grafana/k6…): the first `image: NAME:TAG` of
 * docker-compose.yml, a `${VAR:-default}` tag resolved as compose resolves it. (.ci/lib.sh's product_image
 * is the same rule for the CI scripts that run before npm ci.)
 */
export function productImage(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const image = new RegExp(`^\\s+image: (${escaped}:\\S+)`, 'm').exec(compose)?.[1];
  if (!image) throw new Error(`docker-compose.yml names no ${name} image`);
  return image.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}/, (_all, variable: string, fallback: string) => env[variable] || fallback);
}
