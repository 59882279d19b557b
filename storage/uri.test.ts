import { describe, expect, test } from "bun:test";
import { DownloadError } from "./errors.ts";
import { fileFilter } from "./plan.ts";
import { inferModelName, parseUri, sourceName } from "./uri.ts";

describe("parseUri", () => {
  test.each([
    ["s3://bkt/models/m1/", { scheme: "s3", bucket: "bkt", path: "models/m1/" }],
    ["tos://my-bucket/x", { scheme: "tos", bucket: "my-bucket", path: "x" }],
    ["gs://b.example/p", { scheme: "gcs", bucket: "b.example", path: "p" }],
    ["gcs://bucket_1/p", { scheme: "gcs", bucket: "bucket_1", path: "p" }],
    ["hf://org/name@v1.0", { scheme: "hf", bucket: "org/name", revision: "v1.0" }],
    ["huggingface://org/name", { scheme: "hf", bucket: "org/name" }],
    [
      "deepseek-ai/deepseek-coder-6.7b-instruct",
      { scheme: "hf", bucket: "deepseek-ai/deepseek-coder-6.7b-instruct" },
    ],
    [
      "https://host:8443/dir/model.gguf?sig=1",
      { scheme: "http", bucket: "host:8443", path: "/dir/model.gguf" },
    ],
    ["/data/models/m1/", { scheme: "local", path: "/data/models/m1" }],
    ["file:///data/models/m1", { scheme: "local", path: "/data/models/m1" }],
  ])("%s", (raw, want) => {
    expect(parseUri(raw)).toMatchObject(want);
  });

  test.each([
    ["", "empty"],
    ["ftp://host/x", "unsupported scheme"],
    ["s3://", "bucket name is missing"],
    ["s3://Bad_Bucket/x", "not a valid bucket"],
    ["s3://bkt/a/../b", "'.' and '..'"],
    ["hf://onlyname", "exactly org/name"],
    ["org/name/extra", "exactly org/name"],
    ["hf://org/name@", "revision"],
    ["file://relative/x", "absolute path"],
    ["/data/../etc", "'..'"],
    ["https://user:pw@host/x", "credentials inside the URL"],
    ["http://host/", "names no file"],
    ["c:\\models", "unknown scheme"],
  ])("rejects %s", (raw, why) => {
    let err: unknown;
    try {
      parseUri(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).reason).toBe("bad_uri");
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).not.toContain("pw@");
  });

  test("model names and sources follow AIBrix (B12: HF is huggingface)", () => {
    expect(inferModelName(parseUri("s3://bkt/models/deepseek-coder-6.7b-instruct/"))).toBe(
      "deepseek-coder-6.7b-instruct",
    );
    expect(inferModelName(parseUri("org/name"))).toBe("org/name");
    expect(sourceName(parseUri("org/name"))).toBe("huggingface");
    expect(sourceName(parseUri("gs://bkt/x"))).toBe("gcs");
  });
});

describe("filters", () => {
  test("AIBrix suffix semantics: HF matches *.<suffix>, object stores endsWith", () => {
    const hf = fileFilter("hf", { allowSuffix: ["json", " safetensors"] });
    expect(["config.json", "a/b.safetensors", "x.bin", "weird..json"].filter(hf)).toEqual([
      "config.json",
      "a/b.safetensors",
      "weird..json",
    ]);
    expect(fileFilter("hf", { allowSuffix: [".json"] })("config.json")).toBe(false);
    expect(fileFilter("s3", { allowSuffix: [".json"] })("config.json")).toBe(true);
  });
  test("globs: no slash matches the name anywhere; trailing slash is a directory; .git and .cache skipped", () => {
    const f = fileFilter("s3", { allow: ["*.json", "weights/"], ignore: ["weights/old/"] });
    expect(
      [
        "a.json",
        "d/e.json",
        "weights/x.bin",
        "weights/old/y.bin",
        "z.bin",
        ".git/config.json",
        ".cache/x/a.json",
      ].filter(f),
    ).toEqual(["a.json", "d/e.json", "weights/x.bin"]);
  });
});
