import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseUri } from "../storage/uri.ts";
import { enginePathAllowed, localPathAllowed, sourceAllowed } from "./sources.ts";

const ok = (uri: string, allowed?: string[]) => sourceAllowed(parseUri(uri), allowed);

test("unset allows everything", () => {
  expect(ok("http://169.254.169.254/latest/meta-data")).toBe(true);
});

test("schemes, buckets, repos, hosts and local prefixes", () => {
  const allowed = [
    "s3://models",
    "hf://meta-llama",
    "https://*.example.com",
    "http://127.0.0.1:9000",
    "/data/adapters",
    "gcs",
  ];
  expect(ok("s3://models/llama/", allowed)).toBe(true);
  expect(ok("s3://other/llama/", allowed)).toBe(false);
  expect(ok("tos://models/x", allowed)).toBe(false);
  expect(ok("hf://meta-llama/Llama-3.1-8B", allowed)).toBe(true);
  expect(ok("meta-llama/Llama-3.1-8B", allowed)).toBe(true);
  expect(ok("hf://evil/model", allowed)).toBe(false);
  expect(ok("https://cdn.example.com/a.safetensors", allowed)).toBe(true);
  expect(ok("http://cdn.example.com/a.safetensors", allowed)).toBe(false);
  expect(ok("https://example.org/a", allowed)).toBe(false);
  expect(ok("http://127.0.0.1:9000/x", allowed)).toBe(true);
  expect(ok("http://127.0.0.1:9001/x", allowed)).toBe(false);
  expect(ok("http://169.254.169.254/latest/meta-data", allowed)).toBe(false);
  expect(ok("/data/adapters/a", allowed)).toBe(true);
  expect(ok("/data/adapters-evil/a", allowed)).toBe(false);
  expect(ok("/etc", allowed)).toBe(false);
  expect(ok("gs://any-bucket/x", allowed)).toBe(true);
});

test("local prefixes are compared with symlinks resolved (C2)", async () => {
  const root = mkdtempSync(join(tmpdir(), "airuntime-prefix-"));
  mkdirSync(join(root, "allowed", "real"), { recursive: true });
  mkdirSync(join(root, "outside"));
  symlinkSync(join(root, "outside"), join(root, "allowed", "link"));
  const allowed = [join(root, "allowed")];
  expect(await localPathAllowed(join(root, "allowed", "real"), allowed)).toBe(true);
  expect(await localPathAllowed(join(root, "allowed", "not-yet", "x"), allowed)).toBe(true);
  expect(await localPathAllowed(join(root, "allowed", "link"), allowed)).toBe(false);
  expect(await localPathAllowed(join(root, "allowed", "link", "deeper"), allowed)).toBe(false);
  expect(await localPathAllowed(join(root, "outside"), ["local"])).toBe(true);
  // An allowed prefix that is itself a symlink is compared by where it points.
  expect(await localPathAllowed(join(root, "outside", "x"), [join(root, "allowed", "link")])).toBe(true);
});

test("paths handed to the engine: absolute paths as local, anything else as an hf:// repo id (C3)", async () => {
  expect(await enginePathAllowed("/etc", undefined)).toBe(true);
  expect(await enginePathAllowed("/etc", ["/data"])).toBe(false);
  expect(await enginePathAllowed("meta-llama/Llama-3.1-8B", ["hf://meta-llama"])).toBe(true);
  expect(await enginePathAllowed("evil/model", ["hf://meta-llama"])).toBe(false);
  expect(await enginePathAllowed("not a repo id", ["hf"])).toBe(false);
});
