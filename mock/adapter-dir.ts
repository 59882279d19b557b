// What vLLM checks before a runtime LoRA load: the path must be a directory holding adapter_config.json
// (PEFTHelper reads it first). The mock applies the same check for every engine that loads by path, so an
// end-to-end test proves the sidecar handed over a real, complete adapter.
import { stat } from "node:fs/promises";
import { join } from "node:path";

/** null when `path` is a usable adapter directory, else the reason in words. */
export async function adapterDirProblem(path: string): Promise<string | null> {
  try {
    const st = await stat(path);
    if (!st.isDirectory()) return `${path} is not a directory`;
  } catch {
    return `${path} does not exist`;
  }
  try {
    const cfg = await stat(join(path, "adapter_config.json"));
    if (!cfg.isFile()) return `${path}/adapter_config.json is not a file`;
  } catch {
    return `${path} has no adapter_config.json`;
  }
  return null;
}
