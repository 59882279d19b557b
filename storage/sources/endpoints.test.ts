// Issue 12 F5/F6 for every scheme, in process: an endpoint named by the request is a source of its own
// (AIRUNTIME_ALLOWED_SOURCES) and never gets the environment's credentials. A catch server records every
// request head it receives and counts connections.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config.ts";
import { parseUri } from "../uri.ts";
import { createSource } from "./index.ts";

const ENV = {
  HF_ENDPOINT: "http://127.0.0.1:9",
  HF_TOKEN: "hf_env_token_never_leaves",
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  AWS_ACCESS_KEY_ID: "AKIAENVNEVERLEAVES",
  AWS_SECRET_ACCESS_KEY: "aws-env-secret",
  AWS_SESSION_TOKEN: "aws-env-session-never-leaves",
  TOS_ACCESS_KEY: "TOSENVNEVERLEAVES",
  TOS_SECRET_KEY: "tos-env-secret",
  TOS_ENDPOINT: "http://127.0.0.1:9",
  GCS_ACCESS_KEY_ID: "GOOGENVNEVERLEAVES",
  GCS_SECRET_ACCESS_KEY: "gcs-env-secret",
  GCS_ENDPOINT: "http://127.0.0.1:9",
};
const ENV_SECRETS = Object.entries(ENV)
  .filter(([k]) => !k.endsWith("ENDPOINT") && !k.endsWith("ENDPOINT_URL"))
  .map(([, v]) => v);

let server: Server;
let url = "";
let connections = 0;
const heads: string[] = [];

beforeAll(async () => {
  server = createServer((sock) => {
    connections++;
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) {
        heads.push(got);
        sock.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
afterAll(() => server?.close());

const CASES: Array<{ uri: string; keys: Record<string, string>; id: string }> = [
  { uri: "s3://bkt/m/", keys: { aws_access_key_id: "AKIAREQ", aws_secret_access_key: "s" }, id: "AKIAREQ" },
  { uri: "tos://bkt/m/", keys: { TOS_ACCESS_KEY: "TOSREQ", TOS_SECRET_KEY: "s" }, id: "TOSREQ" },
  { uri: "gs://bkt/m/", keys: { gcs_access_key_id: "GOOGREQ", gcs_secret_access_key: "s" }, id: "GOOGREQ" },
];

async function drain(src: ReturnType<typeof createSource>, uri: string): Promise<unknown> {
  try {
    for await (const _ of src.list(parseUri(uri), AbortSignal.timeout(5000))) {
    }
    return null;
  } catch (e) {
    return e;
  }
}

test("a request endpoint outside the allow-list is refused before any connection", () => {
  const s = loadConfig({ ...ENV, AIRUNTIME_ALLOWED_SOURCES: "s3,tos,gcs,hf" });
  for (const c of CASES)
    expect(() => createSource(parseUri(c.uri), s, { endpoint: url, ...c.keys })).toThrow(
      /AIRUNTIME_ALLOWED_SOURCES/,
    );
  expect(() => createSource(parseUri("hf://org/m"), s, { hf_endpoint: url })).toThrow(
    /AIRUNTIME_ALLOWED_SOURCES/,
  );
  expect(connections).toBe(0);
});

test("with no request keys a request endpoint is refused (allow-list set or not); with keys, only they go", async () => {
  for (const allowed of [undefined, `s3,tos,gcs,hf,${url}`]) {
    const s = loadConfig({ ...ENV, AIRUNTIME_ALLOWED_SOURCES: allowed });
    for (const c of CASES) {
      const before = connections;
      expect(() => createSource(parseUri(c.uri), s, { endpoint: url })).toThrow(
        /never sent the environment's (Google )?credentials/,
      );
      expect(connections).toBe(before);
      const seen = heads.length;
      await drain(createSource(parseUri(c.uri), s, { endpoint: url, ...c.keys }), c.uri);
      expect(heads.length).toBeGreaterThan(seen);
      expect(heads.slice(seen).join("\n")).toContain(`Credential=${c.id}/`);
    }
    const seen = heads.length;
    await drain(createSource(parseUri("hf://org/m"), s, { hf_endpoint: url }), "hf://org/m");
    expect(heads.slice(seen).join("\n").toLowerCase()).not.toContain("authorization");
  }
  const all = heads.join("\n");
  for (const secret of ENV_SECRETS) expect(all).not.toContain(secret);
});

test("the token file (HF_TOKEN_PATH) is the environment's too: a request-named hub is asked without it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "endpoints-hf-"));
  const file = join(dir, "token");
  writeFileSync(file, "hf_file_token_never_leaves\n");
  const { HF_TOKEN: _, ...env } = ENV;
  const s = loadConfig({ ...env, HF_TOKEN_PATH: file, AIRUNTIME_ALLOWED_SOURCES: `hf,${url}` });
  const seen = heads.length;
  await drain(createSource(parseUri("hf://org/m"), s, { hf_endpoint: url }), "hf://org/m");
  expect(heads.length).toBeGreaterThan(seen);
  const sent = heads.slice(seen).join("\n");
  expect(sent.toLowerCase()).not.toContain("authorization");
  expect(sent).not.toContain("hf_file_token_never_leaves");
  rmSync(dir, { recursive: true, force: true });
});

test("the environment's endpoint named again by the request is still the environment's", () => {
  const s = loadConfig(ENV);
  expect(() => createSource(parseUri("s3://bkt/m/"), s, { endpoint: "http://127.0.0.1:9/" })).not.toThrow();
});
