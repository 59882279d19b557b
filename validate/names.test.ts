import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkAbsolutePath, childPath, isInside, isValidName } from "./names.ts";

const root = await mkdtemp(join(tmpdir(), "names-"));
afterAll(() => rm(root, { recursive: true, force: true }));

test("the one name rule", () => {
  for (const ok of ["a", "A1", "my.adapter", "lora-1_v2", "x".repeat(128)])
    expect(isValidName(ok)).toBe(true);
  for (const bad of [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    ".hidden",
    "-x",
    "x".repeat(129),
    "a b",
    "é",
    "a\0b",
    "a\\b",
  ])
    expect(isValidName(bad)).toBe(false);
});

test("childPath stays inside its root, symlinks resolved", async () => {
  const base = join(root, "adapters");
  expect(await childPath(base, "ok", "lora_name", true)).toBe(join(base, "ok"));
  await mkdir(join(root, "outside"));
  await symlink(join(root, "outside"), join(base, "evil"));
  await symlink(base, join(base, "self"));
  for (const n of ["evil", "self"]) {
    const err = await childPath(base, n).catch((e) => e);
    expect(err.status).toBe(400);
  }
  const err = await childPath(base, "../x").catch((e) => e);
  expect(err.status).toBe(400);
  expect(await isInside(base, join(base, "ok", "file"))).toBe(true);
  expect(await isInside(base, join(base, "evil", "file"))).toBe(false);
});

test("absolute paths only, no ..", () => {
  expect(checkAbsolutePath("/a/b/")).toBe("/a/b/");
  expect(() => checkAbsolutePath("a/b")).toThrow(/absolute/);
  expect(() => checkAbsolutePath("/a/../etc")).toThrow(/\.\./);
});
