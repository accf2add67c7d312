/** Facts about the machine a run measured, for its JSON: cores, memory, versions, load when it started. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { natsServerBinary } from '@spool/infra';

export interface MachineFacts {
  readonly cpus: number;
  readonly cpu: string;
  readonly memory_gb: number;
  readonly kernel: string;
  readonly node: string;
  readonly nats_server: string;
  readonly ffmpeg: string;
  /** 1-, 5- and 15-minute load averages when the run started: the machine is shared. */
  readonly load_average: readonly number[];
}

const firstLine = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
};

export function machineFacts(): MachineFacts {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? '',
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nats_server: firstLine(natsServerBinary(), ['--version']),
    ffmpeg: firstLine('ffmpeg', ['-version']).replace(/ Copyright.*$/, ''),
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
