/** What a role gives the common worker loop once its model is loaded. */
import type { Logger, ModelPackage, StageEndpoint } from '@spool/shared';
import type { StageConfig } from '../config.ts';

export interface RoleContext {
  readonly config: StageConfig;
  readonly pkg: ModelPackage;
  readonly log: Logger;
}

export interface LoadedRole {
  readonly endpoints: readonly StageEndpoint[];
  /** Extra discovery metadata (e.g. the blocks a denoiser shard holds). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Span attributes of every call it serves beyond the worker's own (`span-attributes.ts`): its static facts, e.g. a shard's blocks. */
  readonly attributes: SpanFacts;
  readonly description: string;
  /** Runs one small call through the handler so the first real call is not the slow one. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/** Span attribute values: what OpenTelemetry takes, without its types. */
export type SpanFacts = Readonly<Record<string, string | number | boolean>>;

export type RoleLoader = (ctx: RoleContext) => Promise<LoadedRole>;
