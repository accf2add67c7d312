/**
 * HTTP over a new connection for every request (no keep-alive pool), so that
 * a refused connection, a connection the server dropped and an answer are
 * told apart exactly: a request never rides on a socket the server closed
 * while it sat idle.
 */
import http from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpFailure {
  /** `ECONNREFUSED` (nothing listens), `ECONNRESET`, `TIMEOUT`, … */
  readonly error: string;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<HttpAnswer | HttpFailure> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(opts.body);
  });
}

export const isFailure = (r: HttpAnswer | HttpFailure): r is HttpFailure => 'error' in r;
