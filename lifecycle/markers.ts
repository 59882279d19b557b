// Cache markers, as AIBrix writes them: <weight_cache>/.aibrix/served/<model_name>.json holding
// {"model_name","artifact_url"} once an engine was launched for it; the snapshot lists the artifacts.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-write.ts";
import { containedPath } from "../validate/names.ts";

const servedDir = (cacheDir: string) => join(cacheDir, ".aibrix", "served");

export async function writeServedMarker(
  cacheDir: string,
  modelName: string,
  artifactUrl: string,
): Promise<void> {
  const dir = servedDir(cacheDir);
  const file = await containedPath(dir, `${modelName}.json`);
  if (!file) return;
  await writeFileAtomic(file, JSON.stringify({ model_name: modelName, artifact_url: artifactUrl }), {
    mode: 0o644,
    dirMode: 0o755,
  });
}

export async function cachedArtifacts(cacheDir: string): Promise<string[]> {
  const dir = servedDir(cacheDir);
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true })).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const urls = new Set<string>();
  await Promise.all(
    names.map(async (n) => {
      try {
        const j = JSON.parse(await readFile(join(dir, n), "utf8")) as { artifact_url?: unknown };
        if (typeof j.artifact_url === "string") urls.add(j.artifact_url);
      } catch {
        // a half-written or foreign file is not an artifact
      }
    }),
  );
  return [...urls].sort();
}
