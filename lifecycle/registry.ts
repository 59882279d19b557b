// Crash-safe engine registry on disk (reference/AIBRIX-RUNTIME.md §6.1): the whole state is rewritten to a
// temp file (mode 0600), fsynced, renamed over the old file, then the directory is fsynced. Writes are
// serialized and coalesced; readers never wait on them. Completed operation ids live in the same file so
// idempotency survives a sidecar restart (AIBrix loses them).
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../lib/atomic-write.ts";
import type { EngineRecord } from "./types.ts";

export interface RegistryState {
  engines: EngineRecord[];
  /** action -> "model\u0000operation_id" entries, oldest first. */
  operations: Record<string, string[]>;
}

export interface Registry {
  readonly path: string;
  load(): Promise<RegistryState>;
  /** Persist `snapshot()` as it is when the write starts; resolves once it is durable on disk. */
  save(): Promise<void>;
}

/** JSON with sorted keys and no spaces, as AIBrix writes it. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, value) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, (value as Record<string, unknown>)[k]]),
        )
      : value,
  );
}

export function createRegistry(path: string, snapshot: () => RegistryState): Registry {
  let writing: Promise<void> | null = null;
  let queued: Promise<void> | null = null;

  const writeNow = () => {
    const s = snapshot();
    return writeFileAtomic(path, canonicalJson({ version: 1, engines: s.engines, operations: s.operations }));
  };

  const save = (): Promise<void> => {
    // One write in flight, at most one queued behind it: the queued one reads the state when it starts,
    // so every caller's change is on disk when its promise resolves.
    if (queued) return queued;
    if (!writing) {
      writing = writeNow().finally(() => {
        writing = null;
      });
      return writing;
    }
    queued = writing
      .catch(() => {})
      .then(() => {
        queued = null;
        return save();
      });
    return queued;
  };

  return {
    path,
    save,
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return { engines: [], operations: {} };
        throw e;
      }
      const j = JSON.parse(text) as { version?: number; engines?: unknown; operations?: unknown };
      if (j.version !== 1 || !Array.isArray(j.engines))
        throw new Error(
          `engine registry ${path}: unsupported content (expected {"version":1,"engines":[...]})`,
        );
      const ops: Record<string, string[]> = {};
      if (j.operations && typeof j.operations === "object")
        for (const [k, v] of Object.entries(j.operations as Record<string, unknown>))
          if (Array.isArray(v)) ops[k] = v.filter((x): x is string => typeof x === "string");
      return { engines: j.engines as EngineRecord[], operations: ops };
    },
  };
}
