// removeDownloaded (lora/cleanup.ts), the one place adapter files are deleted (issue 12, F12): only a
// directory the sidecar downloaded, at its recorded path, when that is a real directory inside the
// adapters dir. A link swapped in at the recorded path, a path outside, or a direct path are left alone.
import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeDownloaded } from "./cleanup.ts";
import type { AdapterRecord } from "./store.ts";

const root = await mkdtemp(join(tmpdir(), "lora-cleanup-"));
afterAll(() => rm(root, { recursive: true, force: true }));
const adapters = join(root, "adapters");
const outside = join(root, "outside");
await mkdir(adapters);
await mkdir(outside);
await writeFile(join(outside, "adapter_config.json"), "{}");

const record = (path: string, downloaded = true): AdapterRecord => ({
  name: "a",
  source: "s3://b/a/",
  mode: "delegation",
  path,
  downloaded,
  state: "loaded",
  loaded_at: new Date(0).toISOString(),
  reloads: 0,
});

test("a downloaded real directory inside the adapters dir is removed", async () => {
  const dir = join(adapters, "team", "a");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "adapter_config.json"), "{}");
  expect(await removeDownloaded(adapters, record(dir))).toBe(true);
  expect(await readdir(join(adapters, "team"))).toEqual([]);
});

test("a link at the recorded path, a path outside, a direct path: nothing removed", async () => {
  await symlink(outside, join(adapters, "linked"));
  expect(await removeDownloaded(adapters, record(join(adapters, "linked")))).toBe(false);
  expect(await removeDownloaded(adapters, record(outside))).toBe(false);
  const direct = join(adapters, "direct");
  await mkdir(direct);
  expect(await removeDownloaded(adapters, record(direct, false))).toBe(false);
  expect(await readdir(outside)).toEqual(["adapter_config.json"]);
  expect((await readdir(adapters)).sort()).toEqual(["direct", "linked", "team"]);
});
