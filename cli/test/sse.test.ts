/** The event-stream parser: the standard's line ends, fields, comments and dispatch, in any split of the text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseEvent } from '../src/sse.ts';

const parseAll = (pieces: string[]): SseEvent[] => {
  const p = new SseParser();
  return pieces.flatMap((t) => p.push(t));
};

describe('SseParser', () => {
  it('reads the events spool sends: event and data lines, comments, a blank line to dispatch', () => {
    const text = 'event: phase\ndata: {"phase":"queued"}\n\n: keep-alive\n\nevent: completed\ndata: {"id":"v"}\n\n';
    expect(parseAll([text])).toEqual([
      { event: 'phase', data: '{"phase":"queued"}' },
      { event: 'completed', data: '{"id":"v"}' },
    ]);
  });

  it('joins data lines, defaults the type to message, keeps the last id, reads retry, drops one leading space only', () => {
    const p = new SseParser();
    expect(p.push('id: 7\ndata:  two spaces\ndata:b\nretry: 1500\n\ndata\n\nevent: x\n\n')).toEqual([
      { event: 'message', data: ' two spaces\nb', id: '7' },
      { event: 'message', data: '', id: '7' },
    ]);
    expect(p.retryMs).toBe(1500);
  });

  it('drops an event the stream cut off, and an event with no data', () => {
    expect(parseAll(['event: phase\n\n', 'event: step\ndata: {"step":1}'])).toEqual([]);
  });

  it('takes LF, CRLF and CR line ends, a BOM, and any split of the text, alike', () => {
    const events = [
      { event: 'phase', data: '{"a":1}' },
      { event: 'step', data: 'é ✓' },
    ];
    const body = 'event: phase\ndata: {"a":1}\n\n: c\nevent: step\ndata: é ✓\n\n';
    fc.assert(
      fc.property(fc.constantFrom('\n', '\r\n', '\r'), fc.boolean(), fc.array(fc.nat(), { maxLength: 8 }), (eol, bom, cuts) => {
        const text = (bom ? '\ufeff' : '') + body.replace(/\n/g, eol);
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((start, i) => text.slice(start, at[i] ?? text.length));
        expect(parseAll(pieces)).toEqual(events);
      }),
    );
  });

  it('readSse decodes UTF-8 split across chunks and hears every chunk', async () => {
    const bytes = new TextEncoder().encode('event: step\ndata: é\n\n: keep-alive\n\n');
    const chunks = [bytes.slice(0, 20), bytes.slice(20, 21), bytes.slice(21)];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    let heard = 0;
    const out: SseEvent[] = [];
    for await (const e of readSse(body, () => heard++)) out.push(e);
    expect(out).toEqual([{ event: 'step', data: 'é' }]);
    expect(heard).toBe(3);
  });
});
