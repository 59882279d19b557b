#!/usr/bin/env bun
// CLI entry: serve (default) | download | mock-engine | version. Invoked as `aibrix_runtime` it behaves the same;
// invoked as `aibrix_download` (a symlink) it is AIBrix's downloader CLI.
import process from "node:process";
import { type Config, ConfigError, type Flags, loadConfig } from "./config.ts";
import { describeLocalIo, EXIT, type Failure, listenFailure, printFailure } from "./exit.ts";
import { closest, parseFlagsOrExit, usageErrorText } from "./flags.ts";
import { setTraceSink } from "./lib/trace.ts";
import { createLogger, parseLevel } from "./log.ts";
import {
  argv,
  environment,
  exit,
  gcOnSignal,
  invokedAs,
  onShutdownSignal,
  runtimeVersion,
} from "./platform/process.ts";
import { serve } from "./platform/serve.ts";
import { logStartup } from "./startup-log.ts";
import { VERSION } from "./version.ts";

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const SERVE_USAGE = `usage: airuntime [serve] [--host H] [--port P]

Run the management sidecar (default command). Configuration comes from the environment;
see README.md for every variable.

  --host H   address to listen on (default 0.0.0.0)
  --port P   port to listen on (default 8080; 0 picks a free port)
  -h, --help show this help`;

const commands: Record<string, Command> = {
  serve: { summary: "run the sidecar (default)", usage: SERVE_USAGE, run: runServe },
  "mock-engine": {
    summary: "run a mock inference engine (vllm, sglang, llamacpp, tgi, trtllm, triton)",
    usage: "usage: airuntime mock-engine --engine <name> [flags]  (see --help)",
    async run(args) {
      const { runMockEngine } = await import("./mock/cli.ts");
      return runMockEngine(args, environment());
    },
  },
  download: {
    summary: "download a model (s3, tos, gcs, hf, http, local) and print its path",
    usage: "usage: airuntime download <uri> [flags] (airuntime download --help for all flags)",
    async run(args) {
      const { runDownloadCommand } = await import("./storage/cli.ts");
      return runDownloadCommand(args, configOrExit);
    },
  },
  version: {
    summary: "print the version",
    usage: "usage: airuntime version\n\nPrint the airuntime version and the JavaScript runtime.",
    async run() {
      console.log(`airuntime ${VERSION} (${runtimeVersion()})`);
      return EXIT.ok;
    },
  },
};

function topUsage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return `usage: airuntime <command> [flags]\n\ncommands:\n${lines.join("\n")}\n\nRun 'airuntime <command> --help' for a command's flags.`;
}

const configFailure = (e: ConfigError): Failure => ({
  reason: "config",
  exitCode: EXIT.config,
  message: `invalid configuration: ${e.problems.join("; ")}`,
  fields: { problems: e.problems },
});

/** What a failure during start-up prints and exits with; unexpected errors are `fatal` (exit 1). */
export function startupFailure(e: unknown, where: { host: string; port: number; unix?: string }): Failure {
  if (e instanceof ConfigError) return configFailure(e);
  const listen = listenFailure(e, where);
  if (listen) return listen;
  const local = describeLocalIo(e);
  if (local)
    return {
      reason: "local_io",
      exitCode: EXIT.localIo,
      message: local.message,
      fields: { path: local.path, errno: local.code },
    };
  return fatalFailure(e);
}

function fatalFailure(e: unknown): Failure {
  const message = e instanceof Error ? e.message : String(e);
  return { reason: "fatal", exitCode: EXIT.fatal, message: `unexpected error: ${message}` };
}

/** The Config from the environment and flags (every command reads it here), or the exit status after printing
 *  each problem. */
function configOrExit(flags: Flags = {}): Config | number {
  try {
    return loadConfig(environment(), flags);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const f = configFailure(e);
    printFailure(f);
    return f.exitCode;
  }
}

/** The heavy feature modules, in dependency order (see runServe). */
const FEATURE_MODULES: Array<() => Promise<unknown>> = [
  () => import("hono"),
  () => import("./app.ts"),
  () => import("./metrics/service.ts"),
  () => import("./storage/download.ts"),
  () => import("./routes/models.ts"),
  () => import("./lora/index.ts"),
  () => import("./lifecycle/index.ts"),
  () => import("./routes/lifecycle.ts"),
];

async function runServe(args: string[]): Promise<number> {
  const parsed = parseFlagsOrExit(
    args,
    { host: { type: "string" }, port: { type: "string" } },
    SERVE_USAGE,
    "airuntime serve",
  );
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length > 0) {
    process.stderr.write(usageErrorText("airuntime serve", `unexpected argument '${parsed.positionals[0]}'`));
    return EXIT.usage;
  }
  const portStr = parsed.values.port as string | undefined;
  const config = configOrExit({
    host: parsed.values.host as string | undefined,
    port: portStr === undefined ? undefined : /^\d+$/.test(portStr) ? Number(portStr) : Number.NaN,
  });
  if (typeof config === "number") return config;
  const log = createLogger({ level: parseLevel(config.logLevel), base: { app: "airuntime" } });
  // LOG_LEVEL=debug: every outbound HTTP call (engine, hub, S3, sources) as a line (lib/trace.ts).
  if (parseLevel(config.logLevel) === "debug") setTraceSink((t) => log.debug("outbound call", { ...t }));
  logStartup(config, log);
  for (const w of config.warnings) log.warn(w);
  // Listen first with a boot handler so liveness answers while the features are composed; every other
  // route says "starting" (503, a retry word for the AIBrix controller) until the full app takes over.
  let handle = (req: Request): Response | Promise<Response> =>
    new URL(req.url).pathname === "/healthz"
      ? Response.json({ status: "ok" })
      : Response.json(
          { status: "not ready", reason: "sidecar starting: service unavailable" },
          { status: 503 },
        );
  const where = { host: config.host, port: config.port, unix: config.unixSocket };
  let server: ReturnType<typeof serve>;
  try {
    server = serve({
      hostname: config.host,
      port: config.port,
      unix: config.unixSocket,
      fetch: (req) => handle(req),
      bootRoutes: { "/healthz": Response.json({ status: "ok" }) },
      // AIBrix clients send GET /v1/model/list with a JSON body.
      acceptGetBodies: true,
    });
    await server.ready;
  } catch (e) {
    const f = startupFailure(e, where);
    printFailure(f);
    return f.exitCode;
  }
  // Imported here so `version`/`--help` stay instant and the socket opens before the heavy modules load.
  // Module evaluation blocks the event loop, so the feature modules load in slices with a turn of the loop
  // between them: a liveness probe arriving during start-up is answered within one slice.
  for (const load of FEATURE_MODULES) {
    await new Promise((r) => setImmediate(r));
    await load();
  }
  const { composeSidecar } = await import("./compose.ts");
  let sidecar: Awaited<ReturnType<typeof composeSidecar>>;
  try {
    sidecar = await composeSidecar(config, log);
  } catch (e) {
    await server.stop(0);
    const f = startupFailure(e, where);
    printFailure(f);
    return f.exitCode;
  }
  handle = (req) => sidecar.app.fetch(req);
  server.endBoot();
  gcOnSignal();
  log.info("airuntime listening", {
    url: server.url,
    engine: config.engine,
    engine_endpoint: config.engineEndpoints,
    version: VERSION,
  });
  return await new Promise<number>((resolve) => {
    let stopping = false;
    onShutdownSignal(async (signal) => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", { signal });
      await server.stop(config.shutdownGraceMs);
      await sidecar.stop();
      log.info("stopped");
      resolve(EXIT.ok);
    });
  });
}

export async function main(args: string[], name = invokedAs()): Promise<number> {
  if (name === "aibrix_download") {
    const { runAibrixDownload } = await import("./storage/cli.ts");
    return runAibrixDownload(args, configOrExit);
  }
  const first = args[0];
  if (first === "--help" || first === "-h" || first === "help") {
    console.log(topUsage());
    return EXIT.ok;
  }
  if (first === "--version") return commands.version!.run([]);
  if (first !== undefined && !first.startsWith("-")) {
    const cmd = commands[first];
    if (!cmd) {
      const hint = closest(first, Object.keys(commands));
      process.stderr.write(
        usageErrorText("airuntime", `unknown command '${first}'${hint ? ` (did you mean '${hint}'?)` : ""}`),
      );
      return EXIT.usage;
    }
    return cmd.run(args.slice(1));
  }
  return runServe(args);
}

if (import.meta.main) {
  main(argv()).then(
    (code) => exit(code),
    (e) => {
      const f = fatalFailure(e);
      printFailure(f);
      exit(f.exitCode);
    },
  );
}
