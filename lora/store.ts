// The adapter registry: what the sidecar loaded (name, source, local path, time), in memory and on disk
// (<state dir>/lora-adapters.json, written to a temp file, fsynced, renamed). Credentials are never stored:
// a reload after an engine restart uses the recorded local path, which is the exact path the first load
// handed the engine (AIBrix bug B6).
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import type { Logger } from "../log.ts";

export interface AdapterRecord {
  name: string;
  /** artifact_url (delegation) or lora_path (direct), as the caller gave it. */
  source: string;
  mode: "direct" | "delegation";
  /** The path handed to the engine. */
  path: string;
  /** True when the sidecar downloaded `path` itself (only then may unload delete it). */
  downloaded: boolean;
  /** "loaded": the engine accepted it; "downloaded": files are ready but the engine load failed. */
  state: "loaded" | "downloaded";
  loaded_at: string;
  /** How many times the sidecar reloaded it on its own (engine restarts). */
  reloads: number;
}

interface FileShape {
  version: 1;
  adapters: AdapterRecord[];
}

export interface AdapterStore {
  get(name: string): AdapterRecord | undefined;
  all(): AdapterRecord[];
  put(rec: AdapterRecord): Promise<void>;
  delete(name: string): Promise<void>;
}

export async function openAdapterStore(stateDir: string, log: Logger): Promise<AdapterStore> {
  const file = join(stateDir, "lora-adapters.json");
  const map = new Map<string, AdapterRecord>();
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as FileShape;
    for (const r of parsed.adapters ?? []) if (r && typeof r.name === "string") map.set(r.name, r);
    log.info("adapter registry loaded", { file, adapters: map.size });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      log.warn("adapter registry unreadable; starting empty", { file, error: e });
  }

  // Writes are chained so the file always reflects the latest state, never an interleaving.
  let writing: Promise<void> = Promise.resolve();
  let seq = 0;
  const persist = () => {
    writing = writing.then(async () => {
      const body: FileShape = { version: 1, adapters: [...map.values()] };
      try {
        await mkdir(stateDir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.${++seq}.tmp`;
        const fh = await open(tmp, "w", 0o600);
        try {
          await fh.writeFile(JSON.stringify(body));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, file);
      } catch (e) {
        log.warn("could not write adapter registry", { file, error: e });
      }
    });
    return writing;
  };

  return {
    get: (name) => map.get(name),
    all: () => [...map.values()],
    async put(rec) {
      map.set(rec.name, rec);
      await persist();
    },
    async delete(name) {
      if (map.delete(name)) await persist();
    },
  };
}
