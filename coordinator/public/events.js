/**
 * A job's event stream (GET /v1/videos/{id}/events) read with fetch and a
 * stream reader, since EventSource cannot send the Authorization header.
 * `EventStreamParser` turns the text/event-stream text, in chunks cut
 * anywhere, into events; `readEvents` yields the events of a response's body
 * as they arrive. No DOM: the parser runs in Node's tests as it is.
 */

/** Splits the stream into lines (LF, CRLF or CR) and lines into events, as the Server-Sent Events format says. */
export class EventStreamParser {
  #buffer = '';
  #event = '';
  #data = [];

  /** Takes the next piece of text; answers the events it completed, in order, as `{ event, data }` (`data` is text). */
  feed(text) {
    this.#buffer += text;
    const events = [];
    for (;;) {
      const end = /\r\n|\r|\n/.exec(this.#buffer);
      if (!end) break;
      // A CR at the very end may be the first half of a CRLF cut between two pieces.
      if (end[0] === '\r' && end.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, end.index);
      this.#buffer = this.#buffer.slice(end.index + end[0].length);
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  #line(line) {
    if (line === '') {
      // A blank line ends an event; one with no data is dropped, as the format says.
      const event = this.#data.length > 0 ? { event: this.#event || 'message', data: this.#data.join('\n') } : undefined;
      this.#event = '';
      this.#data = [];
      return event;
    }
    // A comment: the server's keep-alive lines.
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    return undefined;
  }
}

/** The events of an event-stream response, as they arrive, until the stream ends or `signal` aborts. */
export async function* readEvents(response, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new EventStreamParser();
  const stop = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    stop();
  }
}
