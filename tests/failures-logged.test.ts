// Issue 13 item 6: failures that used to be swallowed are logged once with their cause (not on every
// call, not never): an unreadable kvcached segment, a failing nvidia-smi. A missing segment or a missing
// nvidia-smi is the normal no-GPU / no-kvcached case and says nothing.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listAccelerators, listGpuProcesses } from "../lifecycle/accelerators.ts";
import { readKvUsage, readKvUsageSync } from "../lifecycle/kv.ts";
import { createLogger } from "../log.ts";

const dir = mkdtempSync(join(tmpdir(), "failures-logged-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const capture = () => {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: "debug", sink: (l) => lines.push(l) }) };
};

test("an unreadable kvcached segment is logged once with its cause; a missing one is silent", async () => {
  const { lines, log } = capture();
  mkdirSync(join(dir, "kvc_dir")); // a directory where the segment should be: EISDIR on read
  for (let i = 0; i < 3; i++) {
    expect(await readKvUsage("kvc_dir", dir, log)).toEqual({ total: 0, used: 0 });
    expect(readKvUsageSync("kvc_dir", dir, log)).toEqual({ total: 0, used: 0 });
    expect(await readKvUsage("absent", dir, log)).toEqual({ total: 0, used: 0 });
  }
  const warned = lines.filter((l) => l.includes("cannot read the kvcached segment"));
  expect(warned.length).toBe(1);
  expect(warned[0]).toContain("kvc_dir");
  expect(warned[0]).toContain("EISDIR");
  expect(lines.some((l) => l.includes("absent"))).toBe(false);
});

test("a failing nvidia-smi is logged once per query with its cause; a missing one is silent", async () => {
  const { lines, log } = capture();
  const smi = join(dir, "nvidia-smi");
  writeFileSync(
    smi,
    "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate' >&2\nexit 9\n",
  );
  chmodSync(smi, 0o755);
  for (let i = 0; i < 3; i++) {
    expect(await listAccelerators(smi, 5000, log)).toEqual([]);
    expect(await listGpuProcesses(smi, 5000, log)).toEqual([]);
    expect(await listAccelerators(join(dir, "no-such-smi"), 5000, log)).toEqual([]);
  }
  const warned = lines.filter((l) => l.includes("nvidia-smi failed"));
  expect(warned.length).toBe(2); // the GPU query and the process query, once each
  expect(warned.join("\n")).toContain("could not communicate");
  expect(lines.some((l) => l.includes("no-such-smi"))).toBe(false);
});
