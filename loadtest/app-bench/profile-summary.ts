/**
 * Where a V8 CPU profile (`node --cpu-prof`, a .cpuprofile) spent its time, as tables a report can print:
 * the functions with the most self time, and the packages by self and by inclusive time (a sample counts
 * for every package on its stack, once). Idle time is left out of every share.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: Share[];
  packagesSelf: Share[];
  packagesInclusive: Share[];
}

/** What a frame belongs to: a package of node_modules, Node's own code, the app, or V8's pseudo-frames. */
export function frameOwner(frame: CpuProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(program)' || functionName === '(root)') return '(program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:') || (url === '' && functionName !== '')) return 'node (internal)';
  return 'app';
}

function frameName(frame: CpuProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|app|loadtest)\//, '$1/');
  const where = file ? ` ${file}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function ranked(totals: Map<string, number>, busyMs: number, top: number): Share[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10, percent: busyMs > 0 ? Math.round((ms / busyMs) * 1000) / 10 : 0 }));
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  const inclusiveByPackage = new Map<string, number>();
  const add = (totals: Map<string, number>, key: string, ms: number) => totals.set(key, (totals.get(key) ?? 0) + ms);
  let busyMs = 0;
  let idleMs = 0;

  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const owner = frameOwner(node.callFrame);
    if (owner === '(idle)') {
      idleMs += ms;
      return;
    }
    busyMs += ms;
    add(selfByFunction, frameName(node.callFrame), ms);
    add(selfByPackage, owner, ms);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame) onStack.add(frameOwner(frame));
    }
    onStack.delete('(program)');
    for (const pkg of onStack) add(inclusiveByPackage, pkg, ms);
  });

  return {
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    functions: ranked(selfByFunction, busyMs, top),
    packagesSelf: ranked(selfByPackage, busyMs, top),
    packagesInclusive: ranked(inclusiveByPackage, busyMs, top),
  };
}

/** The summary as Markdown tables. */
export function profileTables(summary: ProfileSummary): string[] {
  const table = (title: string, rows: Share[]) => [
    `| ${title} | ms | % of busy |`,
    '|---|---:|---:|',
    ...rows.map((row) => `| ${row.name.replace(/\|/g, '\\|')} | ${row.ms} | ${row.percent} |`),
    '',
  ];
  return [
    `Busy ${summary.busyMs} ms, idle ${summary.idleMs} ms.`,
    '',
    ...table('package (self time)', summary.packagesSelf),
    'Inclusive time counts a sample for every package on its stack. A middleware calls the next one from its own',
    'frame, so its inclusive time holds every middleware after it: read that column for libraries, not middleware.',
    '',
    ...table('package (inclusive: on the stack)', summary.packagesInclusive),
    ...table('function (self time)', summary.functions),
  ];
}
