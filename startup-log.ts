// The operator's first look at a running sidecar: one log line with the effective settings (no secrets,
// only whether they are set), and a warning when the management API is open on a non-loopback address.
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { isLoopback } from "./security/addresses.ts";

/** The settings an operator checks first, as log fields. */
export function effectiveSettings(c: Config): Record<string, unknown> {
  return {
    listen: c.unixSocket ? `unix:${c.unixSocket}` : `${c.host}:${c.port}`,
    engine: c.engine,
    engine_version: c.engineVersion,
    engine_endpoint: c.engineEndpoints,
    metrics_mode: c.metricsMode,
    metrics_path: c.metricsPath ?? "(engine default)",
    auth: c.apiKey || c.apiKeyFile ? "on" : "off",
    metrics_auth: c.metricsAuth,
    download_dir: c.downloader.localDir,
    download_roots: c.downloader.roots,
    download_layout: c.downloader.layout,
    allowed_sources: c.downloader.allowedSources ?? "any",
    adapters_dir: c.adaptersDir,
    state_dir: c.stateDir,
    hf_endpoint: c.hf.endpoint,
    // Which credentials the environment provides (names only; the values never reach a log).
    env_logins: [
      ...(c.hf.token ? ["HF_TOKEN"] : []),
      ...(c.aws.accessKeyId ? ["AWS_ACCESS_KEY_ID"] : []),
      ...(c.aws.roleArn ? ["AWS_ROLE_ARN"] : []),
      ...(c.tos.accessKey ? ["TOS_ACCESS_KEY"] : []),
      ...(c.gcs.accessKeyId ? ["GCS_ACCESS_KEY_ID"] : []),
    ],
    log_level: c.logLevel,
  };
}

export function logStartup(c: Config, log: Logger): void {
  log.info("effective settings", effectiveSettings(c));
  const open = !c.apiKey && !c.apiKeyFile;
  if (open && !c.unixSocket && !isLoopback(c.host))
    log.warn(
      `the management API is open: no AIRUNTIME_API_KEY and listening on ${c.host}, so anyone who can reach port ${c.port} can load adapters, download models and delete them; set AIRUNTIME_API_KEY (or AIRUNTIME_API_KEY_FILE), or listen on 127.0.0.1 with --host`,
      { host: c.host, port: c.port, auth: "off" },
    );
}
