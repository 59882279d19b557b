// Weights for an activation come through the downloader into <downloadDir>/<model_name>, with no lock held
// while they transfer (AIBrix downloads under its global lock, B18). The engine starts when they are in
// place; a failed download fails the activation visibly (phase failed, last_error says why) and never
// falls back to a made-up path. Deactivate aborts a running download.
import { errorMessage } from "../errors.ts";
import { registerSecret, withSecretScope } from "../redact.ts";
import type { FetchToDir } from "../storage/types.ts";
import { containedPath } from "../validate/names.ts";
import type { Instance, LifecycleCore } from "./core.ts";
import { clearOfRecord } from "./secrets.ts";

export interface WeightsDeps {
  core: LifecycleCore;
  fetchToDir?: FetchToDir;
  /** Where remote weights are downloaded: <downloadDir>/<model_name>. */
  downloadDir: string;
  /** Start the engine once the weights are in place (called holding the model lock). */
  launch(inst: Instance): Promise<unknown>;
}

export function downloadWeights(d: WeightsDeps, inst: Instance): void {
  const { core } = d;
  const rec = inst.rec;
  const model = rec.model_name;
  const ac = new AbortController();
  inst.download = ac;
  // Both outcomes re-check under the model lock that this activation is still the current one.
  const current = () => core.get(model) === inst && !ac.signal.aborted;
  const fail = (message: string) =>
    core.withModel(model, async () => {
      if (!current()) return;
      inst.download = undefined;
      core.setPhase(inst, "failed", message);
      await core.persist();
    });
  const fetchToDir = d.fetchToDir;
  if (!fetchToDir) {
    void fail(`cannot download ${rec.artifact_url}: no downloader is available in this build`);
    return;
  }
  // The URL with its credentials lives in memory only (secrets.ts); the record holds it redacted.
  const url = (inst.clear ?? clearOfRecord(rec))?.artifact_url;
  if (url === undefined) {
    void fail(
      "artifact_url credentials are kept in memory only and were lost when the sidecar restarted; deactivate and activate the model again",
    );
    return;
  }
  const started = performance.now();
  containedPath(d.downloadDir, model)
    .then((dest) => {
      if (!dest) throw new Error(`model_name '${model}' cannot be used as a directory name`);
      core.log.info("downloading weights", { model, uri: rec.artifact_url, dest });
      // Held for redaction while the download runs, released after (redact.ts).
      return withSecretScope(() => {
        for (const v of Object.values(inst.credentials ?? {})) registerSecret(v);
        registerSecret(url === rec.artifact_url ? null : url);
        return fetchToDir({ uri: url, dest, credentials: inst.credentials, signal: ac.signal });
      }).catch((e) => {
        throw new Error(`download of ${rec.artifact_url} failed: ${errorMessage(e)}`);
      });
    })
    .then(
      (res) =>
        core.withModel(model, async () => {
          if (!current()) return;
          inst.download = undefined;
          core.log.info("weights ready", {
            model,
            path: res.path,
            bytes: res.bytes,
            seconds: Math.round(performance.now() - started) / 1000,
          });
          rec.model_path = res.path;
          await d.launch(inst);
        }),
      (e) => fail(errorMessage(e)),
    )
    .catch((e) => core.log.error("activation after download failed", { model, error: e }));
}
