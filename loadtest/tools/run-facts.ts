// What a run ran on, as run-info.ts records it (run.json, or a bench result's `run`), and the "Machine and
// versions" section both reports end with (bench-report.ts, compare-report.ts).

export interface RunFacts {
  startedAt?: string;
  machine?: { os: string; cpu: string; cores: number; memoryGiB: number; loadAverage1m?: number };
  versions?: Record<string, string | null>;
  services?: Record<string, { image: string; standIn: boolean; version: string } | null>;
}

/** The report's closing section, as Markdown lines; none when the machine was not recorded. */
export function machineSection(info: RunFacts | null | undefined, words: { onMachine: string; loadNote: string; driver: string; last: string }): string[] {
  if (!info?.machine) return [];
  const svc = (name: string) => {
    const x = info.services?.[name];
    return x ? `${x.version} (image \`${x.image}\`${x.standIn ? ', a stand-in from .ci/standins.sh' : ''})` : 'unknown';
  };
  return [
    '**Machine and versions**',
    '',
    `- ${info.machine.cores} × ${info.machine.cpu}, ${info.machine.memoryGiB} GiB, ${info.machine.os}; ${words.onMachine}` +
      (info.machine.loadAverage1m !== undefined ? ` (load average ${info.machine.loadAverage1m} as the run started${words.loadNote})` : ''),
    `- ${info.versions?.k6}; Node ${info.versions?.node} (${words.driver}); Docker ${info.versions?.docker}, Compose ${info.versions?.compose}`,
    `- app: Node ${svc('app')}; nginx ${svc('nginx')}; Redis ${svc('redis')}`,
    `- commit ${info.versions?.commit}${words.last}`,
    '',
  ];
}
