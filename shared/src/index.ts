export {
  ChunkError,
  ChunkJoiner,
  checkFrameSize,
  chunkAt,
  DEFAULT_CHUNK_LIMITS,
  DEFAULT_MAX_FRAME_MB,
  formatChunkAnnounce,
  isFetchSubject,
  MAX_FETCH_SUBJECT_LENGTH,
  parseChunkAnnounce,
  planChunks,
  type ChunkLimits,
  type ChunkPlan,
} from './chunking.ts';
export { decodeFrame, encodeFrame, FrameError, MAX_FRAME_TENSORS, MAX_TENSOR_DIMS, type Meta, type WireMessage } from './codec.ts';
export {
  ConfigError,
  deepFreeze,
  readEnum,
  readInt,
  readList,
  readNumber,
  readOptionalString,
  readString,
  type Env,
} from './config.ts';
export {
  asSpoolError,
  ERROR_HEADERS,
  errorFromHeaders,
  errorToHeaders,
  isSpoolError,
  SpoolError,
  WIRE_ERRORS,
  wireError,
  type ErrorSpec,
  type WireErrorCode,
} from './errors.ts';
export { frameLimits, MAX_FRAME_MB_CEILING, MAX_FRAME_MB_VARIABLE, readFrameLimits } from './frame-limit.ts';
export { createLogger, type Logger } from './logging.ts';
export { batchRows, tensorBytes } from './message-facts.ts';
export {
  DEFAULT_MODEL,
  hasComponent,
  latentShape,
  loadModelPackage,
  ManifestError,
  MODEL_COMPONENTS,
  MODELS_DIR,
  planFrames,
  SCHEDULER_TYPES,
  sha256File,
  timeEmbedDim,
  verifyModelFiles,
  type FramePlan,
  type ModelComponent,
  type ModelManifest,
  type ModelPackage,
  type SchedulerConfig,
  type SchedulerType,
  type TransformerRotary,
  type VaeChunking,
} from './manifest.ts';
export { extractContext, injectContext } from './nats/carrier.ts';
export {
  callReplySubjects,
  chunkSubjects,
  COORDINATOR_IDENTITY,
  busIdentities,
  inboxPrefix,
  isChunkSubject,
  LAUNCHER_IDENTITY,
  stageIdentity,
  upstreamIdentity,
} from './bus/identity.ts';
export {
  coordinatorCallReplies,
  COORDINATOR_RESPONSES,
  permissionsFor,
  DEFAULT_CALL_TIMEOUT_MS,
  stageResponses,
  type Deployment,
  type Permissions,
  type ResponsePermission,
} from './bus/permissions.ts';
export { jobsBucket, jobStoreSubjects, kvStream, objectStream, videosBucket } from './bus/jetstream.ts';
export { authorizationBlock, type IdentityKey } from './bus/server-config.ts';
export { createBusCredentials, keyFileOf, readSeedFile, writeBusCredentials, type BusCredentials, type IdentitySecret } from './bus/credentials.ts';
export { StageCaller, type CallerOptions, type CallOptions } from './nats/client.ts';
export { connectionWatch, connectNats, inboxPrefixOf, RECONNECT_DELAY_MS, type BusAuth, type ConnectionWatch, type ConnectOptions } from './nats/connect.ts';
export { readNatsTls, type NatsTls } from './nats/tls.ts';
export { CALL_HEADER, DEFAULT_HEARTBEAT_MS, HEARTBEAT, HOLDER_HEADER, startHeartbeats } from './nats/heartbeat.ts';
export { discoverWorkers, WORKER_METADATA, type WorkerInfo } from './nats/discovery.ts';
export { serveStage, type ServeOptions, type StageEndpoint, type StageHandler, type StageReply, type StageServer } from './nats/server.ts';
export { CHUNK_HEADER, checkFetchSubject, chunksServed, maxFrameBytes, prepareFrame, receiveFrame, type ReceiveOptions } from './nats/transport.ts';
export { spansOfExport, startOtlpReceiver, type AttributeValue, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
export { STOP_WITH_PARENT, stopWhenParentExits } from './parent-watch.ts';
export { isStageRole, queueGroup, serviceNameFor, stageLabel, stageSubject, STAGE_ROLES, type StageRole } from './subjects.ts';
export { commonAttributes, exportConfigured, startTelemetry, tracer, withCommonAttributes, type Telemetry } from './telemetry.ts';
export { bytesOf, DTYPE_BYTES, isDType, numel, tensor, viewAs, type DType, type Tensor, type TensorData } from './tensor.ts';
