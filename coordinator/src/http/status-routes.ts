/** GET /health and GET /info: built from live discovery, the manifest and the admission queue. */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ModelManifest } from '@spool/shared';
import type { FastifyInstance } from 'fastify';
import { describeMissing, type Topology } from '../topology.ts';
import type { Drain } from '../lifecycle/drain.ts';
import type { AdmissionQueue } from '../admission/admission-queue.ts';
import type { InFlight } from '../lifecycle/in-flight.ts';
import type { SystemInfoSource } from './system-info.ts';

const Healthy = Type.Object(
  { status: Type.Literal('healthy') },
  { additionalProperties: false, description: "Every stage has a live worker, and the live denoiser shards cover the model's blocks" },
);
const Unhealthy = Type.Object(
  {
    status: Type.Literal('unhealthy'),
    missing: Type.Array(Type.String(), { description: 'The stages with no live worker (`denoise.1`, `vae-decoder`); empty while shutting down' }),
    message: Type.String({ description: 'What is wrong, e.g. "blocks 3:6 have no live worker (denoise.1)"' }),
  },
  {
    additionalProperties: false,
    description: 'A stage or shard has no live worker, the shards disagree on their blocks, or the coordinator is shutting down',
    headers: { 'Retry-After': { type: 'integer', minimum: 1, description: 'Only while shutting down: whole seconds after which to try again' } },
  },
);

const Percent = Type.String({ description: 'A percentage such as "10%", or "n/a"' });
const Info = Type.Object(
  {
    model: Type.String({ description: "The model's name, from its manifest" }),
    is_loaded: Type.Boolean({ description: 'Whether every stage has a live worker (as GET /health)' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'What is missing when not loaded' }),
    config: Type.Object(
      {
        default_steps: Type.Integer(),
        default_guidance: Type.Number(),
        default_guidance_rescale: Type.Number(),
        min_frames: Type.Integer(),
        max_frames: Type.Integer(),
        default_fps: Type.Integer(),
        default_frames: Type.Integer({ description: 'The frames a request that gives no num_frames gets' }),
        temporal_compression: Type.Integer({
          description: 'The model makes temporal_compression × k + 1 frames: the smallest such count at or above num_frames, of which the first num_frames are returned',
        }),
      },
      { additionalProperties: false, description: "The model's defaults, from its manifest" },
    ),
    system_info: Type.Object({ cpu_usage: Percent, memory_usage: Percent, gpu_usage: Percent }, { additionalProperties: false, description: "The coordinator host's load" }),
    workers: Type.Array(
      Type.Object(
        {
          role: Type.String(),
          shard: Type.Union([Type.Integer(), Type.Null()]),
          blocks: Type.Union([Type.String(), Type.Null()]),
          device: Type.String(),
          id: Type.String(),
        },
        { additionalProperties: false },
      ),
      { description: 'The live workers, from their NATS micro-service registrations' },
    ),
    limits: Type.Object(
      {
        min_frames: Type.Integer(),
        max_frames: Type.Integer(),
        min_fps: Type.Integer(),
        max_fps: Type.Integer(),
        max_inference_steps: Type.Integer(),
        max_guidance_scale: Type.Number(),
        max_prompt_chars: Type.Integer(),
      },
      { additionalProperties: false, description: 'What POST /generate accepts, from the manifest' },
    ),
    queue: Type.Object(
      {
        running: Type.Integer({ description: 'Requests generating now' }),
        waiting: Type.Integer({ description: 'Requests waiting for a slot' }),
        max_concurrent: Type.Integer({ description: 'SPOOL_MAX_CONCURRENT' }),
        max_queue: Type.Integer({ description: 'SPOOL_MAX_QUEUE; one more waiting request gets 429' }),
        max_per_token: Type.Integer({ description: 'SPOOL_MAX_PER_TOKEN: requests one token may have running and waiting' }),
        rate_limit_per_minute: Type.Integer({ description: 'SPOOL_RATE_LIMIT: requests a minute per token after the burst; 0 = no limit' }),
        rate_burst: Type.Integer({ description: 'SPOOL_RATE_BURST: requests one token may send back to back' }),
        estimated_wait_s: Type.Integer({
          minimum: 0,
          description: 'Seconds a request sent now is expected to wait for a slot (0 = starts at once), from recent run times and the queue ahead',
        }),
      },
      { additionalProperties: false, description: 'Admission now' },
    ),
  },
  { additionalProperties: false, description: 'The model, its defaults and limits, the live workers, the load and the queue' },
);

export interface StatusDeps {
  readonly manifest: ModelManifest;
  readonly topology: Topology;
  readonly systemInfo: SystemInfoSource;
  readonly admission: AdmissionQueue;
  readonly drain: Drain;
  readonly inFlight: InFlight;
}

export function registerStatusRoutes(app: FastifyInstance, deps: StatusDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { manifest: m } = deps;

  const health = {
    summary: 'Can it generate?',
    description: "200 when every stage has a live worker and the live denoiser shards cover the model's blocks; 503 naming what is missing otherwise, and while shutting down.",
    tags: ['status'],
    response: { 200: Healthy, 503: Unhealthy },
  };
  r.get('/health', { schema: health }, async (_request, reply) => {
    if (deps.drain.draining) {
      const message = `the coordinator is shutting down: finishing ${deps.inFlight.size} admitted request(s), taking no new ones`;
      return reply.code(503).header('Retry-After', String(deps.drain.retryAfterS)).send({ status: 'unhealthy' as const, missing: [], message });
    }
    const snap = await deps.topology.snapshot();
    if (snap.missing.length === 0) return reply.code(200).send({ status: 'healthy' as const });
    return reply.code(503).send({ status: 'unhealthy' as const, missing: [...snap.missing], message: describeMissing(snap) });
  });

  const info = {
    summary: 'The model, its limits, the workers and the queue',
    description: "The manifest's defaults and limits, the live topology, the host's load, and admission now, with how long a request sent now is expected to wait.",
    tags: ['status'],
    response: { 200: Info },
  };
  r.get('/info', { schema: info }, async () => {
    const [snap, usage] = await Promise.all([deps.topology.snapshot(), deps.systemInfo.usage()]);
    const loaded = snap.missing.length === 0;
    return {
      model: m.name,
      is_loaded: loaded,
      error: loaded ? null : describeMissing(snap),
      config: {
        default_steps: m.defaults.num_inference_steps,
        default_guidance: m.defaults.guidance_scale,
        default_guidance_rescale: m.defaults.guidance_rescale,
        min_frames: m.limits.min_frames,
        max_frames: m.limits.max_frames,
        default_fps: m.defaults.fps,
        default_frames: m.defaults.num_frames,
        temporal_compression: m.latent.temporal_compression,
      },
      system_info: { cpu_usage: usage.cpu_usage, memory_usage: usage.memory_usage, gpu_usage: usage.gpu_usage },
      workers: snap.workers.map((w) => ({ role: w.role, shard: w.shard ?? null, blocks: w.blocks ?? null, device: w.device, id: w.id })),
      limits: { ...m.limits },
      queue: {
        running: deps.admission.running,
        waiting: deps.admission.waiting,
        max_concurrent: deps.admission.limits.maxConcurrent,
        max_queue: deps.admission.limits.maxQueue,
        max_per_token: deps.admission.limits.maxPerCaller,
        rate_limit_per_minute: deps.admission.limits.rate?.perMinute ?? 0,
        rate_burst: deps.admission.limits.rate?.burst ?? 0,
        estimated_wait_s: Math.ceil(deps.admission.expectedWaitMs() / 1000),
      },
    };
  });
}
