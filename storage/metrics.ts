// Download metrics on the sidecar's own registry (metrics/own.ts): bytes fetched, downloads in progress,
// per-model progress (bytes done and expected), duration of finished downloads and failures by reason.
// Every source x reason failure series and every source's byte counter exist at 0 from start-up, so
// `increase()` alerts see 0 rather than no data; `reason` is the closed FailReason vocabulary.
import { ownMetrics } from "../metrics/own.ts";
import { EXIT_CODES, type FailReason } from "./errors.ts";

/** The `source` label values (storage/uri.ts sourceName). */
export const DOWNLOAD_SOURCES = ["huggingface", "s3", "tos", "gcs", "http", "local"] as const;
export const FAIL_REASONS = Object.keys(EXIT_CODES) as FailReason[];

const bytes = ownMetrics.counter({
  name: "aibrix:model_download_bytes_total",
  help: "Bytes fetched from model sources (HF, S3, TOS, GCS, HTTP, local) by the downloader",
  labelNames: ["source"],
});
const active = ownMetrics.gauge({
  name: "aibrix:model_downloads_active",
  help: "Model and artifact downloads in progress in this process",
});
const doneBytes = ownMetrics.gauge({
  name: "aibrix:model_download_progress_bytes",
  help: "Bytes of the model on disk so far (fetched, resumed or kept), per model of this process's downloads",
  labelNames: ["model_name"],
});
const expectedBytes = ownMetrics.gauge({
  name: "aibrix:model_download_size_bytes",
  help: "Bytes the model's download holds in all (0 until it is planned), per model of this process's downloads",
  labelNames: ["model_name"],
});
const duration = ownMetrics.histogram({
  name: "aibrix:model_download_duration_seconds",
  help: "Duration of finished downloads, by source and result (success or failure)",
  labelNames: ["source", "result"],
  buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
});
const failures = ownMetrics.counter({
  name: "aibrix:model_download_failures_total",
  help: `Failed downloads by source and reason (${FAIL_REASONS.join(", ")})`,
  labelNames: ["source", "reason"],
});
active.set({}, 0);
for (const source of DOWNLOAD_SOURCES) {
  bytes.inc({ source }, 0);
  for (const reason of FAIL_REASONS) failures.inc({ source, reason }, 0);
}

export interface DownloadObserver {
  bytes(n: number): void;
  /** Bytes of the model on disk so far and in all (the progress tracker's view). */
  progress(done: number, total: number): void;
  end(result: "ok" | FailReason): void;
}

export function observeDownload(source: string, modelName?: string): DownloadObserver {
  active.inc();
  const t0 = performance.now();
  let ended = false;
  return {
    bytes: (n) => bytes.inc({ source }, n),
    progress(done, total) {
      if (modelName === undefined) return;
      doneBytes.set({ model_name: modelName }, done);
      expectedBytes.set({ model_name: modelName }, total);
    },
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
