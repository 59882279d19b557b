// openTree (validate/roots.ts), the shared-volume guard under every download: below the trusted base no
// link is followed at any level (created or walked), and verify() notices a root replaced after opening.
import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTree } from "./roots.ts";

const base = await mkdtemp(join(tmpdir(), "roots-"));
afterAll(() => rm(base, { recursive: true, force: true }));
const outside = join(base, "outside");
await mkdir(outside);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "no error",
    (e: Error) => e.message,
  );

test("a link at any level between the base and the root is refused, nothing created through it", async () => {
  await mkdir(join(base, "models", "a"), { recursive: true });
  await symlink(outside, join(base, "models", "a", "b"));
  expect(await failure(openTree(base, join(base, "models", "a", "b", "c")))).toMatch(/symbolic link/);
  expect(await readdir(outside)).toEqual([]);
});

test("dir() and check() refuse a link planted below the root after it was opened", async () => {
  const root = join(base, "m1");
  const tree = await openTree(base, root);
  await tree.dir(join(root, "sub", "deeper"));
  await rm(join(root, "sub"), { recursive: true });
  await symlink(outside, join(root, "sub"));
  expect(await failure(tree.dir(join(root, "sub", "deeper")))).toMatch(/symbolic link/);
  expect(await failure(tree.check(join(root, "sub", "file")))).toMatch(/symbolic link/);
  expect(await failure(tree.dir(join(base, "elsewhere")))).toMatch(/outside/);
  expect(await readdir(outside)).toEqual([]);
});

test("verify(): a root renamed away and replaced (by a directory or a link) is noticed", async () => {
  const root = join(base, "m2");
  const tree = await openTree(base, root);
  await tree.verify();
  await rename(root, join(base, "m2-moved"));
  await mkdir(root);
  expect(await failure(tree.verify())).toMatch(/replaced/);
  await rm(root, { recursive: true });
  await symlink(join(base, "m2-moved"), root);
  expect(await failure(tree.verify())).toMatch(/symbolic link/);
});
