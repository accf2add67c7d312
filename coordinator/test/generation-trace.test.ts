/**
 * A generation started with no trace context (a job, not an HTTP request) is
 * the root span of a trace of its own, named `generation`, holding its steps;
 * a failed one carries its error code and an error status. Spans are
 * collected by an OTLP/HTTP JSON receiver in the test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTelemetry } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../src/admission/admission-queue.ts';
import { GenerationService } from '../src/generation/service.ts';
import { FakePipeline, FakeTopology, manifest } from './helpers.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  status?: { code?: number };
  attributes: Array<{ key: string; value: { intValue?: string | number; stringValue?: string } }>;
}

const received: OtlpSpan[] = [];
let receiver: Server;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const json = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('a generation with no trace context', () => {
  it('is the root span of a trace of its own, with its steps below it', async () => {
    const telemetry = startTelemetry('spool-coordinator-test');
    expect(telemetry.exporting).toBe(true);
    const pipeline = new FakePipeline();
    const service = new GenerationService({
      manifest,
      pipeline,
      topology: new FakeTopology(),
      admission: new AdmissionQueue({ maxConcurrent: 1, maxQueue: 1 }),
      requestTimeoutMs: 60_000,
    });
    const params = { prompt: 'a fox', numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 2, seed: 3 };
    const done = await service.start({ id: 'job-traced', caller: 'token-0', params }).outcome;
    pipeline.hooks.encode = () => {
      throw new Error('encoder broke');
    };
    const failed = await service.start({ id: 'job-failed', caller: 'token-0', params }).outcome;
    await telemetry.shutdown();
    expect([done.ok, failed.ok]).toEqual([true, false]);

    const rootOf = (id: string) =>
      received.find((s) => s.name === 'generation' && s.attributes.some((a) => a.key === 'spool.request_id' && a.value.stringValue === id));
    const root = rootOf('job-traced');
    expect(root, `spans: ${received.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(root?.parentSpanId ?? '').toBe('');
    expect(Number(root?.attributes.find((a) => a.key === 'spool.steps')?.value.intValue)).toBe(2);
    const steps = received.filter((s) => s.traceId === root?.traceId && s.name.startsWith('denoise step '));
    expect(steps.map((s) => s.name).sort()).toEqual(['denoise step 1/2', 'denoise step 2/2']);
    for (const s of steps) expect(s.parentSpanId).toBe(root?.spanId);

    const failedRoot = rootOf('job-failed');
    expect(failedRoot?.traceId).not.toBe(root?.traceId);
    expect(failedRoot?.attributes.find((a) => a.key === 'spool.error_code')?.value.stringValue).toBe('SPOOL_ERR_INTERNAL');
    expect(failedRoot?.status?.code).toBe(2); // ERROR
  });
});
