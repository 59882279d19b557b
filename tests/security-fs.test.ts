// Issue 12, the shared volume: another container may plant or swap symlinks anywhere under the download
// and adapter roots, and sources name files. An outside tree is hashed byte for byte (links by target)
// before and after each attack and must not change; every download ends refused or correct.
//   F1  a link at adapters/.<name>.partial (LoRA staging)
//   F2  links inside a model dir (<model>/sub, <model>/.cache), planted before or swapped in during a download
//   F3  hf-cache blob names from a hostile hub's oid
//   F11 a listing holding both `w` and `w.part`
//   C7  2,000 files (600 here, under `ulimit -n 256`) without one descriptor per file
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadModel, makeFetchToDir } from "../storage/download.ts";
import { DownloadError } from "../storage/errors.ts";
import { aibrixLayout } from "../storage/layout.ts";
import { modelStatus } from "../storage/status.ts";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { BIN, spawnProcess, waitUntil } from "./helpers/sidecar.ts";
import {
  MiB,
  randomPayload,
  removeTempDirs,
  settings,
  sha256,
  sha256File,
  tempDir,
} from "./storage/helpers.ts";

let s3: FakeS3;
let hub: FakeHfHub;
const AK = "AKIDFS";
const SK = "fs-secret-key";
const s3settings = () =>
  settings({ AWS_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK });
const tuning = { connections: 4, partSize: 1 * MiB, stallMs: 3000, maxRetries: 3, hedgeAfterMs: 60_000 };

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [{ accessKeyId: AK, secretAccessKey: SK }] });
  hub = await startFakeHfHub();
});
afterAll(async () => {
  await s3.stop();
  await hub.stop();
  await removeTempDirs();
});

/** Every entry under `dir`: files by SHA-256 of their bytes, links by target, directories by name. */
async function digest(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      if (st.isSymbolicLink()) out.push(`${rel}${name} -> ${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}${name}/`);
        await walk(p, `${rel}${name}/`);
      } else
        out.push(
          `${rel}${name} ${createHash("sha256")
            .update(await readFile(p))
            .digest("hex")}`,
        );
    }
  };
  await walk(dir, "");
  return out;
}

/** A directory outside every root holding files an attacker would like overwritten or deleted. */
async function outsideTree(root: string): Promise<{ dir: string; before: string[] }> {
  const dir = join(root, "outside");
  await mkdir(join(dir, "victim", "sub"), { recursive: true });
  await writeFile(join(dir, "victim", "keep.txt"), "do not touch");
  await writeFile(join(dir, "victim", "sub", "w"), "not yours");
  await writeFile(join(dir, "x.part"), "outside part");
  await writeFile(join(dir, "x.part.journal"), "outside journal");
  return { dir, before: await digest(dir) };
}

async function rejection(p: Promise<unknown>): Promise<DownloadError> {
  const e = await p.then(
    () => null,
    (err) => err,
  );
  expect(e).toBeInstanceOf(DownloadError);
  return e as DownloadError;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

describe("F11: temp names never collide with listed names", () => {
  test("a listing with w, w.part and w.part.journal publishes all three byte for byte", async () => {
    const bodies = {
      w: randomPayload(3 * MiB + 1),
      "w.part": randomPayload(2 * MiB + 7),
      "w.part.journal": randomPayload(1000),
    };
    for (const [k, v] of Object.entries(bodies)) await s3.put("bkt", `f11/${k}`, v);
    const local = await tempDir("f11");
    const r = await downloadModel({ uri: "s3://bkt/f11", localDir: local, settings: s3settings(), tuning });
    for (const [k, v] of Object.entries(bodies)) expect(await sha256File(join(r.path, k))).toBe(sha256(v));
    expect((await modelStatus(aibrixLayout(r.path, "s3"))).status).toBe("downloaded");
  });
});

describe("F3: hub object ids are blob names only when they are hex digests", () => {
  test("oid '../../../outside/x' (git and LFS) is refused; nothing outside is created or deleted", async () => {
    const root = await tempDir("f3");
    const { dir, before } = await outsideTree(root);
    await hub.addRepo("org/evil", [
      { path: "config.json", body: randomPayload(500), oid: "../../../outside/x" },
      { path: "model.bin", body: randomPayload(2 * MiB), lfs: true, oid: "../../../outside/y" },
    ]);
    const cache = join(root, "cache");
    const err = await rejection(
      downloadModel({
        uri: "hf://org/evil",
        localDir: cache,
        layout: "hf-cache",
        settings: settings({ HF_ENDPOINT: hub.url }),
        tuning,
      }),
    );
    expect(await digest(dir)).toEqual(before);
    expect(err.message).toMatch(/object id .*not a hex SHA-256 \(64\) or git SHA-1 \(40\)/);
    expect(await exists(join(root, "outside", "y"))).toBe(false);
    expect(await exists(join(cache, "models--org--evil", "blobs"))).toBe(false);
  });
});

describe("F1/F2: symlinks on the shared volume are never followed", () => {
  test("F1: a link planted at adapters/.<name>.partial is refused; nothing lands outside", async () => {
    await s3.put("bkt", "f1/a1/adapter_config.json", new TextEncoder().encode("{}"));
    await s3.put("bkt", "f1/a1/adapter_model.safetensors", randomPayload(MiB + 3));
    const root = await tempDir("f1");
    const { dir, before } = await outsideTree(root);
    const adapters = join(root, "adapters");
    await mkdir(adapters);
    await symlink(join(dir, "victim"), join(adapters, ".a1.partial"));
    const fetchToDir = makeFetchToDir({ settings: s3settings(), tuning });
    const err = await rejection(
      fetchToDir({
        uri: "s3://bkt/f1/a1",
        dest: join(adapters, "a1"),
        credentials: { aws_access_key_id: AK, aws_secret_access_key: SK, aws_region: "us-east-1" },
        signal: new AbortController().signal,
      }),
    );
    expect(err.reason).toBe("forbidden");
    expect(err.message).toMatch(/symbolic link/);
    expect(await digest(dir)).toEqual(before);
    expect(await exists(join(adapters, "a1"))).toBe(false);
  });

  const twoFiles = async (prefix: string, big = 2 * MiB) => {
    const a = randomPayload(1000);
    const b = randomPayload(big);
    await s3.put("bkt", `${prefix}/sub/a`, a);
    await s3.put("bkt", `${prefix}/sub/b`, b);
    await s3.put("bkt", `${prefix}/config.json`, randomPayload(300));
    return { a, b };
  };

  for (const planted of ["sub", ".cache"])
    test(`F2: a link planted at <model>/${planted} before the download is refused`, async () => {
      const name = `f2-${planted.replace(".", "")}`;
      await twoFiles(name);
      const root = await tempDir(name);
      const { dir, before } = await outsideTree(root);
      const local = join(root, "models");
      await mkdir(join(local, name), { recursive: true });
      await symlink(join(dir, "victim"), join(local, name, planted));
      const err = await rejection(
        downloadModel({ uri: `s3://bkt/${name}`, localDir: local, settings: s3settings(), tuning }),
      );
      expect(err.reason).toBe("forbidden");
      expect(err.message).toMatch(/symbolic link/);
      expect(await digest(dir)).toEqual(before);
    });

  for (const swapped of ["sub", ".cache"])
    test(`F2: a link swapped in at <model>/${swapped} during the download is refused`, async () => {
      const name = `f2-swap-${swapped.replace(".", "")}`;
      await twoFiles(name, 4 * MiB);
      // sub/b stops sending after 256 KiB once, long enough to swap the directory under the download.
      s3.fault("bkt", `${name}/sub/b`, { stall: { bytes: 256 * 1024, times: 1 } });
      const root = await tempDir(name);
      const { dir, before } = await outsideTree(root);
      const local = join(root, "models");
      const model = join(local, name);
      const run = downloadModel({
        uri: `s3://bkt/${name}`,
        localDir: local,
        settings: s3settings(),
        tuning: { ...tuning, stallMs: 1000 },
      }).then(
        () => null,
        (e) => e,
      );
      await waitUntil(() => exists(join(model, "sub", "a")), 10_000, 5);
      // The download may recreate the directory between our two calls; swap again until the link is in.
      await waitUntil(async () => {
        await rename(join(model, swapped), join(model, `${swapped}-moved-${Math.random()}`));
        return symlink(join(dir, "victim"), join(model, swapped)).then(
          () => true,
          () => false,
        );
      });
      const err = await run;
      expect(err).toBeInstanceOf(DownloadError);
      expect((err as DownloadError).reason).toBe("forbidden");
      expect(await digest(dir)).toEqual(before);
    });
});

describe("C7: descriptors are not held one per file", () => {
  test("600 files under `ulimit -n 256` download (the binary)", async () => {
    const N = 600;
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      bodies.push(randomPayload(100 + (i % 50)));
      await s3.put("bkt", `c7/f${String(i).padStart(4, "0")}.bin`, bodies[i]!);
    }
    const local = await tempDir("c7");
    const p = spawnProcess(
      "sh",
      ["-c", 'ulimit -n 256 && exec "$0" "$@"', BIN, "download", "s3://bkt/c7", "--local-dir", local],
      {
        AWS_ENDPOINT_URL: s3.url,
        AWS_ACCESS_KEY_ID: AK,
        AWS_SECRET_ACCESS_KEY: SK,
        DOWNLOADER_NUM_THREADS: "8",
      },
    );
    const code = await p.exited;
    if (code !== 0) console.log(p.output().slice(-2000));
    expect(code).toBe(0);
    for (let i = 0; i < N; i += 37)
      expect(await sha256File(join(local, "c7", `f${String(i).padStart(4, "0")}.bin`))).toBe(
        sha256(bodies[i]!),
      );
    expect((await readdir(join(local, "c7"))).filter((n) => n.endsWith(".bin")).length).toBe(N);
  }, 60_000);
});
