import { expect, test } from "bun:test";
import { parseUri } from "../storage/uri.ts";
import { sourceAllowed } from "./sources.ts";

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
