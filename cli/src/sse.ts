/**
 * Server-Sent Events, read as the HTML standard's event-stream parser does:
 * lines end with LF, CRLF or CR (a CR at the end of one chunk and an LF at
 * the start of the next are one line end), `event:`, `data:` (several are
 * joined with newlines), `id:` and `retry:` fields, one leading space of a
 * value dropped, comment lines (`: keep-alive`) ignored, a blank line
 * dispatching the event, and an event cut off by the end of the stream
 * dropped. `SseParser` is pure and takes text in any pieces; `readSse`
 * feeds it a response body, decoding UTF-8 across chunk boundaries.
 */

export interface SseEvent {
  /** The `event:` field, `message` when there was none. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen on the stream so far, if any. */
  readonly id?: string;
}

export class SseParser {
  private line = '';
  private afterCr = false;
  private started = false;
  private type = '';
  private data: string[] = [];
  private lastId: string | undefined;
  /** The last `retry:` value, ms. */
  retryMs: number | undefined;

  /** Takes the next piece of the stream; answers the events it completed. */
  push(text: string): SseEvent[] {
    if (text.length === 0) return [];
    const out: SseEvent[] = [];
    let i = 0;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    if (this.afterCr && text[i] === '\n') i++;
    this.afterCr = false;
    while (i < text.length) {
      const cr = text.indexOf('\r', i);
      const lf = text.indexOf('\n', i);
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (end < 0) {
        this.line += text.slice(i);
        break;
      }
      this.line += text.slice(i, end);
      i = end + 1;
      if (text[end] === '\r') {
        if (i < text.length) {
          if (text[i] === '\n') i++;
        } else this.afterCr = true;
      }
      const event = this.takeLine(this.line);
      this.line = '';
      if (event) out.push(event);
    }
    return out;
  }

  private takeLine(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.retryMs = Number(value);
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const type = this.type;
    const data = this.data;
    this.type = '';
    this.data = [];
    if (data.length === 0) return undefined;
    return { event: type === '' ? 'message' : type, data: data.join('\n'), ...(this.lastId !== undefined ? { id: this.lastId } : {}) };
  }
}

/**
 * The events of a response body, as they arrive. `onBytes` hears of every
 * chunk (comments included), so a caller can tell a quiet stream that is
 * alive from one that is dead.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, onBytes: () => void = () => undefined): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder('utf-8');
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes();
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
