// Downloads through a real forward proxy (squid): ranged parts in parallel, every file request through the
// proxy (each appears in squid's access log, as many as the origin answered), bytes exact. The origin is
// bench/download-capped.ts (Content-Length on every answer, as object stores send it; each connection capped
// at 16 MiB/s so parts overlap in time).
import { afterAll, beforeAll, expect } from "bun:test";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadModel } from "../../storage/download.ts";
import { type Squid, startSquid } from "../helpers/squid.ts";
import { tool } from "../helpers/tools.ts";
import { MiB, randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";
import { waitUntil } from "../helpers/sidecar.ts";

const squidTool = tool("squid");

let squid: Squid;
let origin: { url: string; base: string; stop(): void };
const body = randomPayload(6 * MiB + 3);
const saved = { h: process.env.HTTP_PROXY, n: process.env.NO_PROXY, nl: process.env.no_proxy };

async function startOrigin(file: string) {
  const p = spawn(process.execPath, ["bench/download-capped.ts", file, "16"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((r) => p.stdout!.once("data", (d) => r(String(d))));
  const { url, base } = JSON.parse(line) as { url: string; base: string };
  return { url, base, stop: () => p.kill() };
}

beforeAll(async () => {
  if (!squidTool.path) return;
  const file = join(await tempDir("proxy-src"), "weights.bin");
  await writeFile(file, body);
  origin = await startOrigin(file);
  squid = await startSquid(squidTool.path);
  process.env.HTTP_PROXY = squid.url;
  delete process.env.NO_PROXY;
  delete process.env.no_proxy;
});
afterAll(async () => {
  for (const [k, v] of [
    ["HTTP_PROXY", saved.h],
    ["NO_PROXY", saved.n],
    ["no_proxy", saved.nl],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  await squid?.stop();
  origin?.stop();
  await removeTempDirs();
});

squidTool.test("HTTP_PROXY: ranged parallel parts, every request in squid's access log", async () => {
  const r = await downloadModel({
    uri: origin.url,
    localDir: await tempDir("proxy"),
    settings: settings({}),
    tuning: { connections: 4, startConnections: 4, partSize: MiB, fsync: false },
  });
  expect(await sha256File(join(r.path, "weights.bin"))).toBe(sha256(body));
  const seen = (await (await fetch(`${origin.base.replace(/\/cdn$/, "")}/_requests`)).json()) as {
    requests: number;
    peak: number;
  };
  expect(seen.requests).toBeGreaterThanOrEqual(8); // the size probe + 7 parts of 1 MiB
  expect(seen.peak).toBeGreaterThan(1); // in parallel
  // squid logs a request when it ends: wait until all are there, then compare with what the origin answered.
  const lines = await waitUntil<string[]>(async () => {
    const l = (await squid.accessLog()).filter((x) => x.includes(` GET ${origin.url} `));
    return l.length >= seen.requests ? l : (null as unknown as string[]);
  });
  expect(lines.length).toBe(seen.requests);
  for (const l of lines) expect(l).toMatch(/TCP_MISS(_ABORTED)?\/206 /); // the size probe (range 0-0) is cancelled once its head arrives
});
