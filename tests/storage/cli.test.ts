// The compiled binary's `download` command against the fault-injecting fake S3: kill -9 half way and
// resume, two processes sharing one transfer, and each failure ending with its exit code, a clear message
// and nothing partial visible.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { connect, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { BIN, spawnProcess, waitUntil } from "../helpers/sidecar.ts";
import { startFakeHfHub } from "../fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { MiB, randomFile, randomPayload, sha256, sha256File, tempDir, removeTempDirs } from "./helpers.ts";

const AK = "AKIDCLI";
const SK = "cli-secret-key-123";
const BIG = Number(process.env.AIRUNTIME_BIG_TESTS) ? 300 * MiB : 64 * MiB;
const CONNS = 4;
const PART = 4 * MiB;
let s3: FakeS3;
let srcDir: string;
const sums: Record<string, string> = {};
const sizes: Record<string, number> = {
  "config.json": 2_000,
  "tokenizer.json": 300_000,
  "model.safetensors": BIG,
};
const total = Object.values(sizes).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  srcDir = await tempDir("cli-src");
  for (const [name, size] of Object.entries(sizes)) {
    const p = join(srcDir, name);
    await randomFile(p, size);
    sums[name] = await sha256File(p);
    await s3.put("bkt", `llm/m1/${name}`, { path: p, size });
  }
});
afterAll(() => s3.stop());

const env = (extra: Record<string, string> = {}) => ({
  AWS_ENDPOINT_URL: s3.url,
  AWS_ACCESS_KEY_ID: AK,
  AWS_SECRET_ACCESS_KEY: SK,
  DOWNLOADER_NUM_THREADS: String(CONNS),
  DOWNLOADER_PART_CHUNKSIZE: String(PART),
  AIRUNTIME_DOWNLOAD_STALL_TIMEOUT: "2",
  ...extra,
});

async function run(args: string[], e: Record<string, string>) {
  const p = spawnProcess(BIN, ["download", ...args], e);
  const code = await p.exited;
  const out = p.output();
  return { code, out, stdoutPath: out.split("\n").find((l) => l.startsWith("/")) };
}

/** Files in the model dir other than AIBrix's .cache state. */
async function visible(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    let entries: import("node:fs").Dirent[] = [];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === ".cache") continue;
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, "");
  return out.sort();
}

async function expectComplete(modelDir: string) {
  for (const [name, sum] of Object.entries(sums)) expect(await sha256File(join(modelDir, name))).toBe(sum);
  expect(await visible(modelDir)).toEqual(Object.keys(sizes).sort());
}

describe("airuntime download (binary)", () => {
  test("kill -9 half way, then a rerun completes re-fetching at most connections x part size", async () => {
    const local = await tempDir("cli-kill");
    s3.resetStats();
    s3.throttle.bytesPerSec = BIG / 8 / CONNS; // about 4 s for the big file
    const p = spawnProcess(BIN, ["download", "s3://bkt/llm/m1", "--local-dir", local], env());
    await waitUntil(() => s3.totalBytes() >= total / 2, 20_000, 5);
    p.proc.kill("SIGKILL");
    await p.exited;
    const first = s3.totalBytes();
    expect(first).toBeLessThan(total);
    s3.throttle.bytesPerSec = 0;
    s3.resetStats();
    const r = await run(["s3://bkt/llm/m1", "--local-dir", local], env());
    expect(r.code).toBe(0);
    expect(r.stdoutPath).toBe(join(local, "m1"));
    const refetched = first + s3.totalBytes() - total;
    expect(refetched).toBeLessThanOrEqual(CONNS * PART);
    await expectComplete(join(local, "m1"));
  }, 40_000);

  test("two processes on one directory: one transfer, both succeed", async () => {
    const local = await tempDir("cli-two");
    s3.resetStats();
    s3.throttle.bytesPerSec = BIG / 4 / CONNS;
    const a = spawnProcess(BIN, ["download", "s3://bkt/llm/m1", "--local-dir", local], env());
    const b = spawnProcess(BIN, ["download", "s3://bkt/llm/m1", "--local-dir", local], env());
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    s3.throttle.bytesPerSec = 0;
    if (ca !== 0 || cb !== 0) console.log(a.output().slice(-1500), b.output().slice(-1500));
    expect([ca, cb]).toEqual([0, 0]);
    expect(s3.totalBytes()).toBe(total);
    for (const p of [a, b]) expect(p.output()).toContain(join(local, "m1"));
    await expectComplete(join(local, "m1"));
  }, 40_000);

  test("403: wrong secret -> exit 4, clear message, nothing visible", async () => {
    const local = await tempDir("cli-403");
    const r = await run(
      ["s3://bkt/llm/m1", "--local-dir", local],
      env({ AWS_SECRET_ACCESS_KEY: "wrong-secret-xyz" }),
    );
    expect(r.code).toBe(4);
    expect(r.out).toContain("access denied (HTTP 403)");
    expect(r.out).not.toContain("wrong-secret-xyz");
    expect(await visible(join(local, "m1"))).toEqual([]);
  });

  test("404: no such prefix -> exit 5", async () => {
    const local = await tempDir("cli-404");
    const r = await run(["s3://bkt/llm/none", "--local-dir", local], env());
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/not found|no objects/);
    expect(await visible(join(local, "none"))).toEqual([]);
  });

  test("bad URIs -> exit 2 and nothing created", async () => {
    const local = await tempDir("cli-bad");
    for (const uri of [
      "ftp://host/x",
      "s3://",
      "hf://just-one-part",
      "org/name/extra",
      "file://relative/x",
      "s3://B/x",
    ]) {
      const r = await run([uri, "--local-dir", local], env());
      expect(r.code).toBe(2);
      expect(r.out).toContain("invalid model URI");
    }
    expect(await readdir(local)).toEqual([]);
  });

  test("missing credentials -> exit 3 naming the variables", async () => {
    const local = await tempDir("cli-creds");
    // No source of the chain is configured (instance metadata disabled: tests never touch link-local).
    const r = await run(["s3://bkt/llm/m1", "--local-dir", local], {
      AWS_ENDPOINT_URL: s3.url,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    expect(r.code).toBe(3);
    expect(r.out).toContain("AWS_ACCESS_KEY_ID");
    expect(r.out).toContain("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const r2 = await run(["s3://bkt/llm/m1", "--local-dir", local], {
      AWS_ENDPOINT_URL: s3.url,
      AWS_ACCESS_KEY_ID: AK,
    });
    expect(r2.code).toBe(3);
    const r3 = await run(["tos://bkt/llm/m1", "--local-dir", local], {});
    expect(r3.code).toBe(3);
    expect(r3.out).toContain("TOS_ACCESS_KEY");
    expect(await readdir(local)).toEqual([]);
  });

  test("disk too small -> exit 6 before any byte is fetched", async () => {
    const mnt = await tempDir("cli-small");
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
    } catch {
      console.warn("skipping disk-full case: cannot mount a small tmpfs here (needs root)");
      return;
    }
    try {
      s3.resetStats();
      const r = await run(["s3://bkt/llm/m1", "--local-dir", mnt], env());
      expect(r.code).toBe(6);
      expect(r.out).toContain("not enough disk space");
      expect(s3.totalBytes()).toBe(0);
      expect(await visible(join(mnt, "m1"))).toEqual([]);
    } finally {
      execFileSync("umount", [mnt]);
    }
  });

  test("refused endpoint -> exit 14 at once (no retries), naming the endpoint and AWS_ENDPOINT_URL", async () => {
    const local = await tempDir("cli-net");
    const r = await run(
      ["s3://bkt/llm/m1", "--local-dir", local],
      env({ AWS_ENDPOINT_URL: "http://127.0.0.1:9", LOG_LEVEL: "info" }),
    );
    expect(r.code).toBe(14);
    expect(r.out).toContain("cannot connect to http://127.0.0.1:9 (connection refused)");
    expect(r.out).toContain("AWS_ENDPOINT_URL");
    expect(r.out).not.toContain("retrying");
  });

  test("HTTPS: a private CA in NODE_EXTRA_CA_CERTS is trusted; an unknown certificate -> exit 13 at once", async () => {
    const tls = join(import.meta.dir, "..", "fixtures", "tls");
    const payload = randomPayload(3 * MiB + 7);
    const servers = ["good", "untrusted"].map((name) =>
      createHttpsServer(
        {
          cert: readFileSync(join(tls, `${name}-cert.pem`), "utf8"),
          key: readFileSync(join(tls, `${name}-key.pem`), "utf8"),
        },
        (req, res) => {
          const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
          const [a, b] = m ? [Number(m[1]), Number(m[2]) + 1] : [0, payload.length];
          res.writeHead(m ? 206 : 200, {
            "content-length": b - a,
            "accept-ranges": "bytes",
            etag: '"v1"',
            ...(m ? { "content-range": `bytes ${a}-${b - 1}/${payload.length}` } : {}),
          });
          res.end(payload.subarray(a, b));
        },
      ),
    );
    const ports: number[] = [];
    for (const srv of servers) {
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      ports.push((srv.address() as { port: number }).port);
    }
    try {
      const ok = await tempDir("cli-tls-ok");
      const good = await run(
        [`https://127.0.0.1:${ports[0]}/files/weights.bin`, "--local-dir", ok, "--model-name", "w"],
        env({ NODE_EXTRA_CA_CERTS: join(tls, "test-ca.pem"), DOWNLOADER_PART_CHUNKSIZE: String(1 * MiB) }),
      );
      expect(good.code).toBe(0);
      expect(await sha256File(join(ok, "w", "weights.bin"))).toBe(sha256(payload));
      const bad = await tempDir("cli-tls-bad");
      // A TCP relay in front of the untrusted server counts the connections the CLI opens.
      let badConnections = 0;
      const relay = createNetServer((c) => {
        badConnections++;
        const up = connect(ports[1]!, "127.0.0.1");
        for (const s of [c, up]) s.on("error", () => {});
        c.pipe(up).pipe(c);
      });
      await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
      servers.push(relay as unknown as (typeof servers)[number]);
      const relayPort = (relay.address() as { port: number }).port;
      const r = await run([`https://127.0.0.1:${relayPort}/files/weights.bin`, "--local-dir", bad], env());
      expect(r.code).toBe(13);
      expect(r.out).toContain("cannot verify the TLS certificate");
      expect(r.out).toContain("NODE_EXTRA_CA_CERTS");
      expect(badConnections).toBe(1); // no retries: a certificate problem does not go away by retrying
      expect(await visible(bad)).toEqual([]); // nothing under the local dir but .cache state
    } finally {
      for (const srv of servers) srv.close();
    }
  });

  test("content that fails its SHA-256 -> exit 7 (verification), nothing visible", async () => {
    const hub = await startFakeHfHub();
    try {
      const good = randomPayload(2 * MiB);
      await hub.addRepo("org/bad", [{ path: "w.safetensors", body: good }]);
      good[100] = good[100]! ^ 1; // served bytes no longer match the listed SHA-256
      const local = await tempDir("cli-verify");
      const r = await run(["hf://org/bad", "--local-dir", local], { HF_ENDPOINT: hub.url });
      expect(r.code).toBe(7);
      expect(r.out).toContain("SHA256 mismatch");
      expect(await visible(join(local, "org/bad"))).toEqual([]);
    } finally {
      await hub.stop();
    }
  });

  test("progress is JSON lines on stderr when not a TTY; stdout is only the path", async () => {
    const local = await tempDir("cli-progress");
    await mkdir(local, { recursive: true });
    await writeFile(join(local, ".keep"), "");
    const r = await run(["s3://bkt/llm/m1", "--local-dir", local, "--allow", "*.json"], env());
    expect(r.code).toBe(0);
    expect(r.out).toContain('"msg":"progress"');
    expect(await visible(join(local, "m1"))).toEqual(["config.json", "tokenizer.json"]);
  });

  test("LOG_LEVEL=warning off a terminal: no info lines (progress, summary); stdout is still the path", async () => {
    const local = await tempDir("cli-quiet-level");
    const r = await run(
      ["s3://bkt/llm/m1", "--local-dir", local, "--allow", "*.json"],
      env({ LOG_LEVEL: "warning" }),
    );
    expect(r.code).toBe(0);
    expect(r.stdoutPath).toBe(join(local, "m1"));
    expect(r.out).not.toContain('"level":"info"');
    expect(await visible(join(local, "m1"))).toEqual(["config.json", "tokenizer.json"]);
  });
});

afterAll(() => removeTempDirs());

describe("airuntime download --in-place", () => {
  test("a local directory is used where it is: its path is printed, nothing is copied", async () => {
    const local = await tempDir("cli-inplace-root");
    const r = await run([srcDir, "--in-place", "--local-dir", local], env());
    expect(r.code).toBe(0);
    expect(r.stdoutPath).toBe(srcDir);
    expect(await readdir(local).catch(() => [])).toEqual([]);
    const remote = await run(["s3://bkt/llm/m1", "--in-place"], env());
    expect(remote.code).toBe(2);
    expect(remote.out).toContain("only local paths can be used in place");
  });
});
