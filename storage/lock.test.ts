import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireLock, isLockHeld } from "./lock.ts";

const dir = () => mkdtemp(join(tmpdir(), "airuntime-lock-"));

test("a second acquirer waits until the first releases", async () => {
  const path = join(await dir(), "m.lock");
  const a = await acquireLock(path);
  let got = false;
  const b = acquireLock(path, { pollMs: 10 }).then((l) => {
    got = true;
    return l;
  });
  await new Promise((r) => setTimeout(r, 60));
  expect(got).toBe(false);
  expect(await isLockHeld(path)).toBe(true);
  await a.release();
  await (await b).release();
  expect(got).toBe(true);
  expect(await isLockHeld(path)).toBe(false);
});

test("a lock left by a killed process is taken over", async () => {
  const path = join(await dir(), "m.lock");
  const child = spawn("sleep", ["0"]);
  const pid = child.pid!;
  await new Promise((r) => child.on("exit", r));
  await writeFile(
    path,
    JSON.stringify({ pid, host: (await import("node:os")).hostname(), token: "dead", since: "" }),
  );
  expect(await isLockHeld(path)).toBe(false);
  const l = await acquireLock(path, { pollMs: 10 });
  expect(JSON.parse(await readFile(path, "utf8")).pid).toBe(process.pid);
  await l.release();
});

test("a lock from another host whose heartbeat stopped is taken over after staleMs", async () => {
  const path = join(await dir(), "m.lock");
  await writeFile(path, JSON.stringify({ pid: 1, host: "other-node", token: "x", since: "" }));
  const old = new Date(Date.now() - 60_000);
  await utimes(path, old, old);
  const l = await acquireLock(path, { staleMs: 5_000, pollMs: 10 });
  expect(JSON.parse(await readFile(path, "utf8")).host).not.toBe("other-node");
  await l.release();
});
