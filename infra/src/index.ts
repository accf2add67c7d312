export { composeServices, keyFileInContainer, NATS_VOLUME, renderCompose, serviceName, type ComposeOptions, type ComposeService } from './compose.ts';
export { composeFromFiles, type ComposeFileOptions } from './compose-file.ts';
export {
  AUTH_FILE,
  credentialsReport,
  existingSet,
  keyAssignments,
  parseCredentialsArgs,
  refusal,
  type CredentialsArgs,
  type ExistingSet,
  type KeyAssignment,
} from './credentials.ts';
export { DEFAULT_LAYOUT, loadLaunchConfig, type LaunchConfig } from './config.ts';
export { JETSTREAM_HEADROOM_BYTES, JETSTREAM_MEMORY_BYTES, jetStreamBlock, jetStreamFor, type JetStreamStore } from './jetstream.ts';
export { describeLayout } from './layout/describe.ts';
export { loadLayout, readLayoutFile, type LoadLayoutOptions } from './layout/load.ts';
export { parseLayout } from './layout/parse.ts';
export { modelFacts, replicaLabel, resolveLayout, type ModelFacts } from './layout/resolve.ts';
export { applyShorthands, describeShorthands } from './layout/shorthands.ts';
export type {
  DeviceChoice,
  Layout,
  ModelStageSpec,
  ResolvedLayout,
  ResolvedShard,
  ShardSpec,
  Shorthands,
  VideoEncoderSpec,
  WorkerProcess,
} from './layout/types.ts';
export { formatLogLine } from './log-format.ts';
export { natsServerBinary, startNatsServer, type NatsServerHandle, type NatsServerOptions } from './nats-server.ts';
export { superviseNatsServer, type SupervisedNats, type SupervisorOptions } from './nats-supervisor.ts';
export { assertPortFree, freePort, waitForPort } from './net.ts';
export { coordinatorSpec, workerArgs, workerSpec, type ProcessOptions } from './processes.ts';
export { alive, commandOf, descendants, psTable, type PsEntry } from './process-table.ts';
export { coordinatorStopMs, REPO_ROOT, startStack, type Stack, type StackOptions } from './stack.ts';
export { baseEnv, Supervisor, type ChildHandle, type ChildSpec, type LineSink } from './supervisor.ts';
export { localToken } from './token.ts';
