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
  readonly description: string;
  /** Runs one small call through the handler so the first real call is not the slow one. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export type RoleLoader = (ctx: RoleContext) => Promise<LoadedRole>;
