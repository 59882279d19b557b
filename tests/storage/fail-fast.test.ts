// Failures that asking again cannot fix end at once, naming the endpoint and the setting that names it;
// failures that can pass (408/425/429/5xx, resets) keep their retries. Attempts are counted at the server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { createLogger } from "../../log.ts";
import { downloadModel } from "../../storage/download.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { freePort } from "../helpers/ports.ts";
import { MiB, randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";

let web: FakeS3;
const body = randomPayload(3 * MiB + 5);
const tuning = { connections: 4, partSize: MiB, stallMs: 2000, maxRetries: 8 };

beforeAll(async () => {
  web = startFakeS3({ anonymous: true }); // plain HTTP: GET /<bucket>/<key> with Range
});
afterAll(async () => {
  await web.stop();
  await removeTempDirs();
});

async function failure(uri: string, env: Record<string, string> = {}) {
  let err: (Error & { reason?: string }) | undefined;
  const lines: string[] = [];
  await downloadModel({
    uri,
    localDir: await tempDir("failfast"),
    settings: settings(env),
    tuning,
    log: createLogger({ level: "info", sink: (l) => lines.push(l) }),
  }).catch((e) => (err = e));
  return { err, retries: lines.filter((l) => l.includes("retrying")).length };
}

describe("never retried", () => {
  test("a refused connection: reason unreachable, no retry, the endpoint and the setting named", async () => {
    const port = await freePort();
    const { err, retries } = await failure(`http://127.0.0.1:${port}/m/w.bin`);
    expect(err?.reason).toBe("unreachable");
    expect(err?.message).toContain(`http://127.0.0.1:${port}`);
    expect(err?.message).toContain("connection refused");
    expect(err?.message).toContain("check the download URI");
    expect(retries).toBe(0);
  });

  test("a refused HF_ENDPOINT names HF_ENDPOINT", async () => {
    const port = await freePort();
    const { err, retries } = await failure("hf://org/model", { HF_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(err?.reason).toBe("unreachable");
    expect(err?.message).toContain(`127.0.0.1:${port}`);
    expect(err?.message).toContain("HF_ENDPOINT");
    expect(retries).toBe(0);
  });

  test("a refused proxy names the proxy setting", async () => {
    const port = await freePort();
    await web.put("files", "p/w.bin", body);
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = `http://127.0.0.1:${port}`;
    try {
      const { err, retries } = await failure(`${web.url}/files/p/w.bin`);
      expect(err?.reason).toBe("unreachable");
      expect(err?.message).toContain(`the proxy http://127.0.0.1:${port}`);
      expect(err?.message).toContain("HTTP_PROXY");
      expect(retries).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
    expect(web.stats("files", "p/w.bin").requests).toBe(0);
  });

  for (const code of [400, 405, 410, 403, 404])
    test(`HTTP ${code}: one request, then a typed failure`, async () => {
      const key = `c${code}/w.bin`;
      await web.put("files", key, body);
      web.fault("files", key, { status: { code, times: 100 } });
      const { err, retries } = await failure(`${web.url}/files/${key}`);
      expect(err?.reason).toBe(code === 403 ? "auth" : code === 404 ? "not_found" : "rejected");
      expect(err?.message).toContain(`HTTP ${code}`);
      expect(web.stats("files", key).requests).toBe(1);
      expect(retries).toBe(0);
    });
});

describe("retried with backoff", () => {
  for (const code of [408, 425, 429, 503])
    test(`HTTP ${code} a few times, then the file: it succeeds`, async () => {
      const key = `r${code}/w.bin`;
      await web.put("files", key, body);
      web.fault("files", key, { status: { code, times: 3 } });
      const local = await tempDir("flap");
      const r = await downloadModel({
        uri: `${web.url}/files/${key}`,
        localDir: local,
        settings: settings({}),
        tuning,
      });
      expect(await sha256File(join(r.path, "w.bin"))).toBe(sha256(body));
      expect(web.stats("files", key).requests).toBeGreaterThan(3 + 4); // 3 refusals + probe + 4 parts
    });

  test("an endpoint that refuses after it has delivered bytes (a restart) is retried, not failed", async () => {
    const key = "restart/w.bin";
    await web.put("files", key, body);
    web.throttle.bytesPerSec = 8e6; // the download is still running when the endpoint goes away
    // A TCP relay in front of the fake S3 plays the restarting server: once 1 MiB has passed it drops every
    // connection and stops listening (connections are refused), and listens again on the same port later.
    const upstream = Number(new URL(web.url).port);
    const sockets = new Set<import("node:net").Socket>();
    let relayed = 0;
    let restarted = false;
    const relay = createServer((c) => {
      const u = connect(upstream, "127.0.0.1");
      sockets.add(c);
      sockets.add(u);
      c.pipe(u);
      u.on("data", (d: Buffer) => {
        relayed += d.length;
        if (relayed > MiB && !restarted) {
          restarted = true;
          relay.close();
          for (const s of sockets) s.destroy();
          setTimeout(() => relay.listen(port, "127.0.0.1"), 300);
        }
      });
      u.pipe(c);
      for (const s of [c, u]) s.on("error", () => {}).on("close", () => sockets.delete(s));
    });
    const port = await new Promise<number>((r) =>
      relay.listen(0, "127.0.0.1", () => r((relay.address() as { port: number }).port)),
    );
    const lines: string[] = [];
    try {
      const r = await downloadModel({
        uri: `http://127.0.0.1:${port}/files/${key}`,
        localDir: await tempDir("restart"),
        settings: settings({}),
        tuning,
        log: createLogger({ level: "info", sink: (l) => lines.push(l) }),
      });
      expect(await sha256File(join(r.path, "w.bin"))).toBe(sha256(body));
    } finally {
      web.throttle.bytesPerSec = 0;
      relay.close();
      for (const s of sockets) s.destroy();
    }
    expect(restarted).toBe(true);
    expect(lines.some((l) => l.includes("retrying part") && l.includes("connection refused"))).toBe(true);
  });

  test("a flapping 503 (every other request) still succeeds", async () => {
    const key = "flap/w.bin";
    await web.put("files", key, body);
    let n = 0;
    const flap = () => {
      // Re-arm one 503 after each answer, so requests alternate 503 / 206 while the download runs.
      web.fault("files", key, { status: { code: 503, times: 1 } });
      if (n++ < 40) setTimeout(flap, 5);
    };
    flap();
    const r = await downloadModel({
      uri: `${web.url}/files/${key}`,
      localDir: await tempDir("flap503"),
      settings: settings({}),
      tuning,
    });
    expect(await sha256File(join(r.path, "w.bin"))).toBe(sha256(body));
  });
});
