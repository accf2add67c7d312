export { loadLaunchConfig, type LaunchConfig } from './config.ts';
export { formatLogLine } from './log-format.ts';
export { coordinatorSpec, workerSlots, workerSpec, type LayoutOptions, type WorkerSlot } from './layout.ts';
export { natsServerBinary, startNatsServer, type NatsServerHandle, type NatsServerOptions } from './nats-server.ts';
export { assertPortFree, freePort, waitForPort } from './net.ts';
export { REPO_ROOT, startStack, type Stack, type StackOptions } from './stack.ts';
export { Supervisor, type ChildHandle, type ChildSpec, type LineSink } from './supervisor.ts';
export { localToken } from './token.ts';
