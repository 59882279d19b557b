// Weights for an activation come through the downloader into <downloadDir>/<model_name>, with no lock held
// while they transfer (AIBrix downloads under its global lock, B18). The engine starts when they are in
// place; a failed download fails the activation visibly (phase failed, last_error says why) and never
// falls back to a made-up path. Deactivate aborts a running download.
import { errorMessage } from "../errors.ts";
import { registerSecret, withSecretScope } from "../redact.ts";
import type { Instance, LifecycleManager } from "./manager.ts";
import { safeJoin } from "./paths.ts";
import { clearOfRecord } from "./secrets.ts";

export function downloadWeights(m: LifecycleManager, inst: Instance): void {
  const rec = inst.rec;
  const model = rec.model_name;
  const ac = new AbortController();
  inst.download = ac;
  // Both outcomes re-check under the model lock that this activation is still the current one.
  const current = () => m.instances.get(model) === inst && !ac.signal.aborted;
  const fail = (message: string) =>
    m.withModel(model, async () => {
      if (!current()) return;
      inst.download = undefined;
      m.setPhase(inst, "failed", message);
      await m.persist();
    });
  const fetchToDir = m.o.fetchToDir;
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
  const dest = safeJoin(m.o.downloadDir, model);
  if (!dest) {
    void fail(`model_name '${model}' cannot be used as a directory name`);
    return;
  }
  const started = performance.now();
  m.log.info("downloading weights", { model, uri: rec.artifact_url, dest });
  // Held for redaction while the download runs, released after (redact.ts).
  withSecretScope(() => {
    for (const v of Object.values(inst.credentials ?? {})) registerSecret(v);
    registerSecret(url === rec.artifact_url ? null : url);
    return fetchToDir({ uri: url, dest, credentials: inst.credentials, signal: ac.signal });
  })
    .then(
      (res) =>
        m.withModel(model, async () => {
          if (!current()) return;
          inst.download = undefined;
          m.log.info("weights ready", {
            model,
            path: res.path,
            bytes: res.bytes,
            seconds: Math.round(performance.now() - started) / 1000,
          });
          rec.model_path = res.path;
          await m.launch(inst);
        }),
      (e) => fail(`download of ${rec.artifact_url} failed: ${errorMessage(e)}`),
    )
    .catch((e) => m.log.error("activation after download failed", { model, error: e }));
}
