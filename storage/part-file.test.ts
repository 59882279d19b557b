// The part-file pool (storage/part-file.ts): descriptors only while in use (at most maxOpen idle), every
// open O_NOFOLLOW, and every reopen must find the inode the file was created as.
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "../tests/helpers/sidecar.ts";
import { createPartFilePool } from "./part-file.ts";

const dir = await mkdtemp(join(tmpdir(), "part-file-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);
const reason = (p: Promise<unknown>) =>
  p.then(
    () => "no error",
    (e: { reason?: string; message: string }) => `${e.reason}: ${e.message}`,
  );

test("at most maxOpen idle descriptors are kept; a closed file reopens", async () => {
  const pool = createPartFilePool(4);
  const files = await Promise.all(
    Array.from({ length: 10 }, (_, i) => pool.create(join(dir, `f${i}.part`), 4, false)),
  );
  expect(pool.open).toBe(0);
  for (const [i, f] of files.entries()) await f.write(bytes(`ab${i}!`), 0, 4, 0);
  // The trim runs in the background (a write does not wait for it): wait for it to close the surplus.
  await waitUntil(() => pool.open <= 4);
  expect(pool.open).toBeGreaterThan(0);
  await files[0]!.write(bytes("zz"), 0, 2, 2); // closed by the trim: reopened
  expect(await readFile(join(dir, "f0.part"), "utf8")).toBe("abzz");
  for (const f of files) await f.close();
  expect(pool.open).toBe(0);
});

test("a link planted at the path is refused at create and on reopen; nothing written through it", async () => {
  const pool = createPartFilePool(1);
  const victim = join(dir, "victim");
  await writeFile(victim, "keep");
  await symlink(victim, join(dir, "planted.part"));
  expect(await reason(pool.create(join(dir, "planted.part"), 4, false))).toMatch(
    /^forbidden: .*symbolic link/,
  );
  const f = await pool.create(join(dir, "swapped.part"), 4, false);
  await rename(join(dir, "swapped.part"), join(dir, "swapped.moved"));
  await symlink(victim, join(dir, "swapped.part"));
  expect(await reason(f.write(bytes("evil"), 0, 4, 0))).toMatch(/^forbidden: .*replaced by a link/);
  expect(await readFile(victim, "utf8")).toBe("keep");
});

test("another file swapped in at the path (not the inode created) is refused on reopen", async () => {
  const pool = createPartFilePool(1);
  const f = await pool.create(join(dir, "inode.part"), 4, false);
  await rename(join(dir, "inode.part"), join(dir, "inode.moved"));
  await writeFile(join(dir, "inode.part"), "othr");
  expect(await reason(f.write(bytes("evil"), 0, 4, 0))).toMatch(/^forbidden: .*replaced by another file/);
  expect(await readFile(join(dir, "inode.part"), "utf8")).toBe("othr");
});
