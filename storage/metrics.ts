// Download metrics on the sidecar's own registry (metrics/own.ts): bytes fetched, downloads in progress,
// duration of finished downloads and failures by reason.
import { ownMetrics } from "../metrics/own.ts";
import type { FailReason } from "./errors.ts";

const bytes = ownMetrics.counter({
  name: "aibrix:model_download_bytes_total",
  help: "Bytes fetched from model sources (HF, S3, TOS, GCS, HTTP, local) by the downloader",
  labelNames: ["source"],
});
const active = ownMetrics.gauge({
  name: "aibrix:model_downloads_active",
  help: "Model and artifact downloads in progress in this process",
});
const duration = ownMetrics.histogram({
  name: "aibrix:model_download_duration_seconds",
  help: "Duration of finished downloads (success or failure)",
  labelNames: ["source", "result"],
  buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
});
const failures = ownMetrics.counter({
  name: "aibrix:model_download_failures_total",
  help: "Failed downloads by reason (auth, not_found, no_space, verification, network, ...)",
  labelNames: ["source", "reason"],
});

export interface DownloadObserver {
  bytes(n: number): void;
  end(result: "ok" | FailReason): void;
}

export function observeDownload(source: string): DownloadObserver {
  active.inc();
  const t0 = performance.now();
  let ended = false;
  return {
    bytes: (n) => bytes.inc({ source }, n),
    end(result) {
      if (ended) return;
      ended = true;
      active.dec();
      duration.observe(
        { source, result: result === "ok" ? "success" : "failure" },
        (performance.now() - t0) / 1000,
      );
      if (result !== "ok") failures.inc({ source, reason: result });
    },
  };
}
