/**
 * Against a listening server: a client that disconnects mid-generation
 * aborts the run, and the whole request is one trace whose root is the HTTP
 * span (spans collected by an OTLP/HTTP JSON receiver in the test).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { startOtlpReceiver, startTelemetry, type OtlpReceiver } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InFlight } from '../src/lifecycle/in-flight.ts';
import { listen } from '../src/server.ts';
import { auth, FakePipeline, testApp, until } from './helpers.ts';

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
});

afterAll(async () => {
  await receiver.close();
});

function post(port: number, body: unknown, headers: Record<string, string> = {}): { done: Promise<IncomingMessage>; destroy: () => void } {
  const payload = JSON.stringify(body);
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/generate',
    headers: { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
  });
  const done = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
  });
  req.end(payload);
  return { done, destroy: () => req.destroy() };
}

describe('a live coordinator', () => {
  it('aborts the run when the client disconnects mid-generation', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.denoise = () => new Promise((r) => setTimeout(r, 20));
    const inFlight = new InFlight();
    const { app } = testApp({ pipeline, inFlight });
    const address = await listen(app, '127.0.0.1', 0);
    const port = Number(new URL(address).port);
    try {
      const call = post(port, { prompt: 'a fox', num_inference_steps: 100 });
      call.done.catch(() => undefined);
      await until(() => pipeline.calls.denoise.length >= 2, 5_000);
      call.destroy();
      await until(() => inFlight.size === 0, 5_000);
      const stoppedAt = pipeline.calls.denoise.length;
      expect(stoppedAt).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 100));
      expect(pipeline.calls.denoise.length).toBe(stoppedAt);
      expect(pipeline.calls.decode).toHaveLength(0);
    } finally {
      await app.close();
    }
  });

  it('makes the HTTP request the root span of one trace that holds every step', async () => {
    const telemetry = startTelemetry('spool-coordinator-test');
    expect(telemetry.exporting).toBe(true);
    const { app } = testApp();
    const address = await listen(app, '127.0.0.1', 0);
    const port = Number(new URL(address).port);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    try {
      const res = await post(port, { prompt: 'a fox', num_inference_steps: 2 }, { traceparent: `00-${traceId}-${parentId}-01` }).done;
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
      await telemetry.shutdown();
    }
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const root = spans.find((s) => s.name === 'POST /generate');
    expect(root, `spans: ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(root?.parentSpanId).toBe(parentId);
    expect(root?.kind).toBe(2); // SERVER
    expect(root?.attributes['http.response.status_code']).toBe(200);
    const steps = spans.filter((s) => s.name.startsWith('denoise step '));
    expect(steps.map((s) => s.name).sort()).toEqual(['denoise step 1/2', 'denoise step 2/2']);
    for (const s of steps) expect(s.parentSpanId).toBe(root?.spanId);
    const updates = spans.filter((s) => s.name === 'sampler update');
    expect(updates).toHaveLength(2);
    for (const u of updates) expect(steps.map((s) => s.spanId)).toContain(u.parentSpanId);
  });
});
