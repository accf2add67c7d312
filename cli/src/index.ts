/** The spool CLI's public API: run it in-process, and the pieces scripts and tests build on. */
export { COMMANDS, parseCommandLine, type CommandLine, type CommandName } from './args.ts';
export { SpoolClient } from './client.ts';
export { DEFAULT_URL, loadConfig, resolveServer, type CliConfig, type Server } from './config.ts';
export type { CliIo } from './context.ts';
export { CliError } from './errors.ts';
export { EXIT, EXIT_CODES, exitForStatus, type ExitCode } from './exit-codes.ts';
export { followJob } from './follow.ts';
export { main } from './main.ts';
export { runCli } from './run.ts';
export { readSse, SseParser, type SseEvent } from './sse.ts';
