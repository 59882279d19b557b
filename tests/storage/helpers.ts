// Helpers for downloader tests: random payloads, SHA-256 of files on disk, temp dirs, source settings.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config.ts";
import type { SourceSettings } from "../../storage/sources/index.ts";

export const MiB = 1024 * 1024;

export function randomPayload(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

/** A file of `size` random bytes (written in 4 MiB chunks). */
export async function randomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, "w");
  for (let off = 0; off < size; off += 4 * MiB)
    await fh.write(randomBytes(Math.min(4 * MiB, size - off)), 0, Math.min(4 * MiB, size - off), off);
  await fh.close();
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

const created: string[] = [];

export async function tempDir(tag: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `airuntime-dl-${tag}-`));
  created.push(d);
  return d;
}

/** Remove every directory tempDir() made in this test file (large payloads must not pile up in /tmp). */
export async function removeTempDirs(): Promise<void> {
  for (const d of created.splice(0)) await rm(d, { recursive: true, force: true });
}

export function settings(env: Record<string, string | undefined>): SourceSettings {
  return loadConfig(env);
}

/** The text (latin1, so any bytes) of every file below each of `dirs`: what a download left on disk, for
 *  tests that check no secret reached a file. */
export async function filesBelow(dirs: readonly string[]): Promise<string[]> {
  const texts = await Promise.all(
    dirs.map(async (d) =>
      Promise.all(
        (await readdir(d, { recursive: true, withFileTypes: true }))
          .filter((f) => f.isFile())
          .map((f) => readFile(join(f.parentPath, f.name), "latin1")),
      ),
    ),
  );
  return texts.flat();
}
