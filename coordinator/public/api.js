/**
 * The playground's calls to the API, on this origin, with the token the user
 * pasted as `Authorization: Bearer` (never in a URL). An answer that is not
 * 2xx becomes an `ApiError` carrying the API's own `code` and `message`
 * (a wrong token's 401, a body's 400, a full queue's 429), so the page shows
 * what the API said.
 */

export class ApiError extends Error {
  /** `status` 0: no answer came (the coordinator cannot be reached). */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** What an answer that is not 2xx said: its JSON `{code, message}` (or OpenAI's `{error: {code, message}}`), else its status. */
async function errorOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    const code = body.code ?? body.error?.code;
    const message = body.message ?? body.error?.message;
    if (typeof message === 'string') return new ApiError(res.status, String(code ?? res.status), message);
  } catch {
    // Not JSON: a proxy's page, say; the status is all there is.
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status} ${res.statusText}`.trim());
}

/** An API client whose token is read at each call (`token()`), so a pasted token is used at once. */
export function createApi(token) {
  const request = async (method, path, { body, signal, accept } = {}) => {
    let headers;
    try {
      headers = new Headers({ accept: accept ?? 'application/json' });
      const t = token().trim();
      if (t) headers.set('authorization', `Bearer ${t}`);
      if (body !== undefined) headers.set('content-type', 'application/json');
    } catch {
      throw new ApiError(0, 'BAD_TOKEN', 'the token holds characters an HTTP header cannot carry: paste it again');
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'UNREACHABLE', `cannot reach the coordinator (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  };
  return {
    request,
    /** The JSON of a 2xx answer. */
    json: async (method, path, opts) => (await request(method, path, opts)).json(),
  };
}
