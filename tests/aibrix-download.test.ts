// The compiled binary as AIBrix's downloader CLI and as a KServe storage initializer, against s3rver:
//   aibrix_download --model-uri s3://bucket/model/ --local-dir DIR   (argv0 symlink, AIBrix's flags and
//                                                                     layout, exit 1 on failure, 2 on bad flags)
//   airuntime download s3://bucket/model/ DIR                          (KServe: files land in DIR)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { symlink } from "node:fs/promises";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
// @ts-expect-error s3rver ships no type declarations
import S3rver from "s3rver";
import { BIN, spawnProcess } from "./helpers/sidecar.ts";
import { randomPayload, removeTempDirs, sha256, tempDir } from "./storage/helpers.ts";

let tmp: string;
let s3url: string;
let server: { close(): Promise<void> };
let aibrixDownload: string;
const files: Record<string, Uint8Array> = {
  "config.json": new TextEncoder().encode('{"model_type":"llama"}'),
  "model.safetensors": randomPayload(3 * 1024 * 1024 + 17),
  "tokenizer/tokenizer.json": randomPayload(70_000),
};
const etags: Record<string, string> = {};

beforeAll(async () => {
  tmp = await tempDir("aibrix-download");
  const s = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(tmp, "s3rver"),
    configureBuckets: [{ name: "bucket", configs: [] }],
  });
  const info = await s.run();
  server = s;
  s3url = `http://127.0.0.1:${info.port}`;
  const aws = new AwsClient({
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    region: "us-east-1",
    service: "s3",
  });
  for (const [name, body] of Object.entries(files)) {
    const r = await aws.fetch(`${s3url}/bucket/model/${name}`, {
      method: "PUT",
      body: body as Uint8Array<ArrayBuffer>,
    });
    expect(r.status).toBe(200);
    etags[name] = r.headers.get("etag")!;
  }
  aibrixDownload = join(tmp, "aibrix_download");
  await symlink(BIN, aibrixDownload);
});
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

const env = {
  AWS_ENDPOINT_URL: "",
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};

async function run(cmd: string, args: string[]) {
  const p = spawnProcess(cmd, args, { ...env, AWS_ENDPOINT_URL: s3url });
  const code = await p.exited;
  const out = p.output();
  return { code, out, lines: out.split("\n") };
}

async function sameFiles(dir: string) {
  for (const [name, body] of Object.entries(files))
    expect(`${name} ${sha256(new Uint8Array(await readFile(join(dir, name))))}`).toBe(
      `${name} ${sha256(body)}`,
    );
}

/** Files outside AIBrix's .cache state directory. */
async function visible(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string) {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.name === ".cache") continue;
      if (e.isDirectory()) await walk(join(d, e.name), rel ? `${rel}/${e.name}` : e.name);
      else out.push(rel ? `${rel}/${e.name}` : e.name);
    }
  }
  await walk(dir, "");
  return out.sort();
}

describe("aibrix_download (argv0)", () => {
  test("--model-uri s3://bucket/model/ --local-dir DIR writes DIR/model byte-exact in AIBrix's layout", async () => {
    const dir = join(tmp, "aibrix-out");
    const r = await run(aibrixDownload, ["--model-uri", "s3://bucket/model/", "--local-dir", dir]);
    expect(r.code).toBe(0);
    expect(r.lines).toContain(join(dir, "model"));
    await sameFiles(join(dir, "model"));
    expect(await visible(join(dir, "model"))).toEqual(Object.keys(files).sort());
    // AIBrix's .cache/<source>/download/<file>.metadata holds the ETag.
    for (const [name, etag] of Object.entries(etags))
      expect(await readFile(join(dir, "model", ".cache", "s3", "download", `${name}.metadata`), "utf8")).toBe(
        etag,
      );
  });

  test("a positional URI works like --model-uri (as `airuntime download <uri>`)", async () => {
    const dir = join(tmp, "aibrix-positional");
    const r = await run(aibrixDownload, ["s3://bucket/model/", "--local-dir", dir, "--model-name", "pos"]);
    expect(r.code).toBe(0);
    expect(r.lines).toContain(join(dir, "pos"));
    await sameFiles(join(dir, "pos"));
  });

  test("--model-name, --download-extra-config (JSON) and --enable-progress-bar are accepted", async () => {
    const dir = join(tmp, "aibrix-named");
    const r = await run(aibrixDownload, [
      "--model-uri",
      "s3://bucket/model",
      "--local-dir",
      dir,
      "--model-name",
      "llama",
      "--download-extra-config",
      JSON.stringify({ num_threads: 2, allow_file_suffix: ["json"], force_download: true }),
      "--enable-progress-bar",
    ]);
    expect(r.code).toBe(0);
    expect(r.lines).toContain(join(dir, "llama"));
    expect(await visible(join(dir, "llama"))).toEqual(["config.json", "tokenizer/tokenizer.json"]);
  });

  test("failures exit 1 (AIBrix's Python CLI), bad flags exit 2; nothing partial is visible", async () => {
    const dir = join(tmp, "aibrix-fail");
    const missing = await run(aibrixDownload, ["--model-uri", "s3://bucket/nope/", "--local-dir", dir]);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain("s3://bucket/nope/");
    expect(await visible(join(dir, "nope"))).toEqual([]);
    const root = await run(aibrixDownload, ["--model-uri", "s3://bucket", "--local-dir", dir]);
    expect(root.code).toBe(1);
    expect(root.out).toContain("bucket_path");
    const flag = await run(aibrixDownload, ["--model-uri", "s3://bucket/model/", "--bogus"]);
    expect(flag.code).toBe(2);
    const extra = await run(aibrixDownload, [
      "--model-uri",
      "s3://bucket/model/",
      "--download-extra-config",
      '{"nope":1}',
    ]);
    expect(extra.code).toBe(2);
    expect(extra.out).toContain("nope");
    const none = await run(aibrixDownload, ["--local-dir", dir]);
    expect(none.code).toBe(2);
    expect(none.out).toContain("--model-uri");
    const twice = await run(aibrixDownload, ["--model-uri", "s3://bucket/model/", "s3://bucket/model/"]);
    expect(twice.code).toBe(2);
  });
});

describe("airuntime download <src> <dest> (KServe storage initializer)", () => {
  test("files land directly in <dest>, byte-exact", async () => {
    const dest = join(tmp, "mnt-models");
    const r = await run(BIN, ["download", "s3://bucket/model/", dest]);
    expect(r.code).toBe(0);
    expect(r.lines).toContain(dest);
    await sameFiles(dest);
    expect(await visible(dest)).toEqual(Object.keys(files).sort());
  });

  test("a missing source fails with its exit code and leaves <dest> without model files", async () => {
    const dest = join(tmp, "mnt-missing");
    const r = await run(BIN, ["download", "s3://bucket/nope/", dest]);
    expect(r.code).toBe(5);
    expect(await visible(dest)).toEqual([]);
    const three = await run(BIN, ["download", "s3://bucket/model/", dest, "extra"]);
    expect(three.code).toBe(2);
  });
});
