const Sequencer = require('@jest/test-sequencer').default;

/**
 * With --randomize, jest shuffles the tests inside each file but still runs the files in its own order
 * (slowest first, from its timing cache). The stack suites must depend on neither, so with --randomize
 * the files are shuffled too, from the same seed: `--randomize --seed N` replays a run exactly.
 */
class SeededFileOrder extends Sequencer {
  constructor(options) {
    super(options);
    this.globalConfig = options.globalConfig;
  }

  sort(tests) {
    if (!this.globalConfig.randomize) return super.sort(tests);
    const files = [...tests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const random = mulberry32(this.globalConfig.seed);
    for (let i = files.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [files[i], files[j]] = [files[j], files[i]];
    }
    const root = this.globalConfig.rootDir;
    process.stderr.write(`test files in seeded order (seed ${this.globalConfig.seed}): ${files.map((t) => t.path.replace(`${root}/`, '')).join(', ')}\n`);
    return files;
  }
}

/** A small seeded generator (Tommy Ettinger's mulberry32): the same seed, the same order. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = SeededFileOrder;
