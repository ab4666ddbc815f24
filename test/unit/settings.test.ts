import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema } from '../../app/src/config';

/**
 * The config schema (app/src/config.ts) is the one source of the app's settings; .env.example and the
 * README's Configuration table repeat parts of it for people, and must say what the schema says.
 */
const ROOT = path.resolve(__dirname, '../..');
const variables = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/** What the schema makes of a value (undefined: the variable unset, i.e. its default). */
const parsed = (name: keyof typeof envSchema.shape, value: string | undefined) => envSchema.shape[name].parse(value);

/** .env.example's `NAME=value` lines, set (`NAME=…`) or commented out (`# NAME=…`). */
function envExample(): { name: string; value: string; set: boolean }[] {
  return readFileSync(path.join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[2]!, value: m[3]!, set: m[1] === undefined }));
}

/** The README's Configuration table: each row's variables and what it says their defaults are. */
function readmeDefaults(): { name: string; stated: string }[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const [names = '', defaults = ''] = line.split('|').slice(1, 3).map((cell) => cell.trim());
      const stated = defaults.split(' / ');
      return names.split(' / ').map((name, i) => ({ name: name.replace(/`/g, ''), stated: (stated[i] ?? '').trim() }));
    });
}

describe('settings written once: the config schema is the source', () => {
  test('when .env.example is read, then it names every variable the schema has, and no other', () => {
    const named = envExample().map((line) => line.name);

    expect([...named].sort()).toEqual([...variables].sort());
  });

  test('when .env.example sets a variable, then its value is the schema default; the others are commented out because they have none', () => {
    for (const line of envExample()) {
      const name = line.name as keyof typeof envSchema.shape;
      const fallback = parsed(name, undefined);
      if (line.set) expect({ name, value: parsed(name, line.value) }).toEqual({ name, value: fallback });
      else expect({ name, defaultValue: fallback }).toEqual({ name, defaultValue: undefined });
    }
  });

  test('when the README gives a default in backticks, then it is the schema default', () => {
    const rows = readmeDefaults();
    const quoted = rows.filter((row) => row.stated.startsWith('`'));

    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) expect(variables).toContain(row.name);
    for (const { name, stated } of quoted) {
      const value = /^`([^`]*)`/.exec(stated)![1]!;
      const key = name as keyof typeof envSchema.shape;
      expect({ name, value: parsed(key, value) }).toEqual({ name, value: parsed(key, undefined) });
    }
  });
});
