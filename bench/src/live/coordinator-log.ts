/**
 * The coordinator's own account of the requests it answered, from its log
 * file (one JSON line per response, `POST /generate <status>`): set against
 * what the clients received, it tells a request the coordinator never read
 * (a connection reset as it closed) from one it answered but whose answer
 * never arrived.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface LoggedAnswer {
  readonly reqId: string;
  readonly status: number;
}

/** Every `/generate` response the coordinator logged, in order; empty when there is no log. */
export function generateAnswers(file: string): LoggedAnswer[] {
  if (!existsSync(file)) return [];
  const out: LoggedAnswer[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"/generate"')) continue;
    try {
      const j = JSON.parse(line) as { url?: unknown; status?: unknown; reqId?: unknown };
      if (j.url === '/generate' && typeof j.status === 'number' && typeof j.reqId === 'string') out.push({ reqId: j.reqId, status: j.status });
    } catch {
      // a line cut short by a kill: not an answer
    }
  }
  return out;
}

export interface AnswerCheck {
  /** `/generate` answers in the coordinator's log. */
  readonly logged: number;
  /** HTTP answers the clients received. */
  readonly received: number;
  /** 200s the coordinator logged that no client received (by request id). */
  readonly videos_not_received: readonly string[];
}

export function checkAnswers(logged: readonly LoggedAnswer[], received: ReadonlyArray<{ status: number; request_id?: string }>): AnswerCheck {
  const got = new Set(received.map((r) => r.request_id).filter((id): id is string => id !== undefined));
  return {
    logged: logged.length,
    received: received.filter((r) => r.status > 0).length,
    videos_not_received: logged.filter((a) => a.status === 200 && !got.has(a.reqId)).map((a) => a.reqId),
  };
}
