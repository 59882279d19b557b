// Issue 12, the network/source trust boundary: the sidecar in process (routes through app.request), its
// outbound calls over real sockets to catch servers:
//   F5/F6  environment credentials (HF_TOKEN, AWS_*) go only to environment endpoints; an endpoint named by
//          the request (hf_endpoint, credentials.endpoint, download_extra_config.endpoint) passes
//          AIRUNTIME_ALLOWED_SOURCES and is sent only the request's own credentials;
//   F4     every redirect hop is checked (fetch path and bulk HTTP/1.1 client), to another port or [::1];
//   C2     a symlink inside an allowed local prefix pointing outside is refused;
//   C3     direct lora_path and a lifecycle local artifact_url pass the allow-list;
//   C10    in_place only inside the download roots;
//   Defaults: link-local / metadata addresses refused with no allow-list, and on redirect hops.
// Catch servers count TCP connections and record every request head they receive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { createServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockEngine, startMockEngine } from "../mock/index.ts";
import { serve, type Server } from "../platform/serve.ts";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { type FakeS3, startFakeS3 } from "./fakes/s3.ts";
import { adapterFiles, call, mockStats, type Target, writeAdapterDir } from "./helpers/lora.ts";
import { type InProcessSidecar, startInProcess } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

const HF_ENV_TOKEN = "hf_ENVTOKEN_must_not_leave_7f3a";
const AWS_ENV_KEY = "AKIAENVKEYMUSTNOTLEAVE";
const AWS_ENV_SECRET = "env-secret-key-must-not-leave";
const AWS_ENV_SESSION = "ENVSESSIONTOKENMUSTNOTLEAVE";

interface Catch {
  url: string;
  connections: number;
  heads: string[];
  close(): void;
}

/** A TCP server that counts connections, records what it is sent and answers 404. */
async function catchServer(host: string): Promise<Catch> {
  const c: Catch = { url: "", connections: 0, heads: [], close: () => server.close() };
  const server: NetServer = createServer((sock) => {
    c.connections++;
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) {
        c.heads.push(got);
        sock.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  c.url = host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return c;
}

let blocked: Catch; // not in the allow-list
let listed: Catch; // in the allow-list as http://127.0.0.1:<port>
let blocked6: Catch; // [::1], not in the allow-list
let redirector: Server;
let redirects = 0;
let hub: FakeHfHub;
let s3: FakeS3;
let engine: MockEngine;
let side: InProcessSidecar;
let open: InProcessSidecar; // no allow-list: the defaults
let root: string;
let allowedLocal: string;
let outside: string;

beforeAll(async () => {
  blocked = await catchServer("127.0.0.1");
  listed = await catchServer("127.0.0.1");
  blocked6 = await catchServer("::1");
  // /to?u=<url>: 302 to u. /switch?u=<url>: the size probe (Range: bytes=0-0) is answered, every later GET
  // (the bulk client's ranged reads) is sent to u.
  redirector = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => {
      const url = new URL(req.url);
      const to = url.searchParams.get("u") ?? "/";
      if (url.pathname === "/switch" && req.headers.get("range") === "bytes=0-0")
        return new Response("x", {
          status: 206,
          headers: { "content-range": "bytes 0-0/1048576", etag: '"e1"' },
        });
      redirects++;
      return new Response(null, { status: 302, headers: { location: to } });
    },
  });
  hub = await startFakeHfHub({ token: HF_ENV_TOKEN });
  await hub.addRepo("allowedorg/x", [{ path: "config.json", body: new TextEncoder().encode("{}") }]);
  s3 = startFakeS3({
    credentials: [
      { accessKeyId: AWS_ENV_KEY, secretAccessKey: AWS_ENV_SECRET, sessionToken: AWS_ENV_SESSION },
    ],
  });
  for (const [f, bytes] of Object.entries(adapterFiles("ok-lora")))
    await s3.put("allowedbucket", `ok-lora/${f}`, bytes);
  engine = await startMockEngine({ engine: "vllm", port: 0 });
  root = mkdtempSync(join(tmpdir(), "airuntime-secnet-"));
  allowedLocal = join(root, "allowed-local");
  outside = join(root, "outside");
  await writeAdapterDir(join(allowedLocal, "real"), "real");
  await writeAdapterDir(outside, "outside");
  symlinkSync(outside, join(allowedLocal, "link"));
  mkdirSync(join(root, "models"));
  const common = {
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    HF_ENDPOINT: hub.url,
    HF_TOKEN: HF_ENV_TOKEN,
    AWS_ENDPOINT_URL: s3.url,
    AWS_ACCESS_KEY_ID: AWS_ENV_KEY,
    AWS_SECRET_ACCESS_KEY: AWS_ENV_SECRET,
    AWS_SESSION_TOKEN: AWS_ENV_SESSION,
  };
  side = await startInProcess({
    ...common,
    AIRUNTIME_ADAPTERS_DIR: join(root, "adapters"),
    DOWNLOADER_LOCAL_DIR: join(root, "models"),
    AIRUNTIME_STATE_DIR: join(root, "state"),
    AIBRIX_ENGINE_REGISTRY_PATH: join(root, "state", "engines.json"),
    AIRUNTIME_ALLOWED_SOURCES: [
      "hf://allowedorg",
      "s3://allowedbucket",
      redirector.url,
      listed.url,
      allowedLocal,
    ].join(","),
  });
  open = await startInProcess({
    ...common,
    AIRUNTIME_ADAPTERS_DIR: join(root, "adapters2"),
    DOWNLOADER_LOCAL_DIR: join(root, "models2"),
    AIRUNTIME_STATE_DIR: join(root, "state2"),
    AIBRIX_ENGINE_REGISTRY_PATH: join(root, "state2", "engines.json"),
  });
});

afterAll(async () => {
  await side?.stop();
  await open?.stop();
  await engine?.stop();
  await hub?.stop();
  await s3?.stop();
  await redirector?.stop(0);
  for (const c of [blocked, listed, blocked6]) c?.close();
});

/** LoRA load calls the mock engine has received. */
const engineLoads = async () =>
  Object.values((await mockStats(engine.url)).calls).reduce((n, c) => n + c.load, 0);

const noEnvSecrets = (heads: string[]) => {
  const all = heads.join("\n");
  for (const secret of [HF_ENV_TOKEN, AWS_ENV_KEY, AWS_ENV_SECRET, AWS_ENV_SESSION])
    expect(all).not.toContain(secret);
};

/**
 * POST /v1/model/download, then wait for the job's end state. The source is listed before the job is
 * accepted (issue 16 item 3), so a refusal can also come as the answer itself: then `final` is
 * `{model_status: "failed", error: <the error body>}`.
 */
async function download(base: Target, body: Record<string, unknown>) {
  const r = await call(base, "/v1/model/download", body);
  if (r.status >= 400) return { start: r, final: { model_status: "failed", error: r.json } };
  if (r.status !== 200) return { start: r, final: null };
  const name = r.json.model_name as string;
  const final = await waitUntil(async () => {
    const s = await call(base, `/v1/model/status?model_name=${encodeURIComponent(name)}`);
    return s.json?.model_status === "downloaded" || s.json?.model_status === "failed" ? s.json : null;
  });
  return { start: r, final };
}

describe("F5/F6: environment credentials go only to environment endpoints", () => {
  test("the environment's own endpoints still get the environment's credentials", async () => {
    const hf = await download(side.app, { model_uri: "hf://allowedorg/x", model_name: "env-hf" });
    expect(hf.final?.model_status).toBe("downloaded");
    const lora = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "ok-lora",
      artifact_url: "s3://allowedbucket/ok-lora/",
    });
    expect(lora.status).toBe(200);
  });

  test("a request's hf_endpoint / credentials.endpoint not in the allow-list: refused, no connection", async () => {
    const hf = await call(side.app, "/v1/model/download", {
      model_uri: "hf://allowedorg/x",
      model_name: "leak-hf",
      download_extra_config: { hf_endpoint: blocked.url },
    });
    expect(hf.status).toBe(403);
    expect(hf.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
    const dl = await call(side.app, "/v1/model/download", {
      model_uri: "s3://allowedbucket/ok-lora/",
      model_name: "leak-s3",
      download_extra_config: { endpoint: blocked.url },
    });
    expect(dl.status).toBe(403);
    const lora = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "leak-lora",
      artifact_url: "s3://allowedbucket/ok-lora/",
      credentials: { endpoint: blocked.url },
    });
    expect(lora.status).toBe(403);
    expect(lora.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
    const awsEp = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "leak-lora2",
      artifact_url: "s3://allowedbucket/ok-lora/",
      credentials: { aws_endpoint_url: blocked.url },
    });
    expect(awsEp.status).toBe(403);
    expect(awsEp.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
    expect(blocked.connections).toBe(0);
  });

  test("an allowed request endpoint gets no environment credentials, only the request's own", async () => {
    // No keys in the request: refused before connecting (the environment's keys are not an option).
    const lora = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "own-ep",
      artifact_url: "s3://allowedbucket/ok-lora/",
      credentials: { endpoint: listed.url },
    });
    expect(lora.status).toBe(422);
    expect(lora.text).toContain("never sent the environment's credentials");
    expect(listed.connections).toBe(0);
    // HF without a request token: the hub named by the request is asked with no Authorization at all.
    const hf = await download(side.app, {
      model_uri: "hf://allowedorg/x",
      model_name: "own-hf",
      download_extra_config: { hf_endpoint: listed.url },
    });
    expect(hf.final?.model_status).toBe("failed");
    expect(listed.connections).toBeGreaterThan(0);
    expect(listed.heads.join("\n").toLowerCase()).not.toContain("authorization");
    // With the request's own keys and token: those are what is sent.
    const seen = listed.heads.length;
    await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "own-keys",
      artifact_url: "s3://allowedbucket/ok-lora/",
      credentials: {
        endpoint: listed.url,
        aws_access_key_id: "AKIAREQUEST",
        aws_secret_access_key: "req-sk",
      },
    });
    await download(side.app, {
      model_uri: "hf://allowedorg/x",
      model_name: "own-hf-token",
      download_extra_config: { hf_endpoint: listed.url, hf_token: "hf_request_token" },
    });
    const mine = listed.heads.slice(seen).join("\n");
    expect(mine).toContain("Credential=AKIAREQUEST/");
    expect(mine).toContain("Bearer hf_request_token");
    noEnvSecrets(listed.heads);
  });

  test("a request-supplied region cannot become a host", async () => {
    const r = await call(side.app, "/v1/model/download", {
      model_uri: "s3://allowedbucket/ok-lora/",
      model_name: "region",
      download_extra_config: { region: `x.127.0.0.1.nip.io:${new URL(blocked.url).port}/#` },
    });
    expect(r.status).toBe(422);
    expect(r.text).toContain("is not a region name");
    expect(blocked.connections).toBe(0);
  });
});

describe("F4: every redirect hop passes the allow-list", () => {
  test("an allowed host's 302 to a disallowed port or to [::1] is refused before connecting", async () => {
    for (const target of [`${blocked.url}/w.bin`, `${blocked6.url}/w.bin`]) {
      const before = redirects;
      const r = await download(side.app, {
        model_uri: `${redirector.url}/to/w.bin?u=${encodeURIComponent(target)}`,
        model_name: `redir-${target.includes("[") ? "v6" : "v4"}`,
      });
      expect(r.final?.model_status).toBe("failed");
      expect(JSON.stringify(r.final?.error)).toContain("AIRUNTIME_ALLOWED_SOURCES");
      expect(redirects).toBeGreaterThan(before); // the hop was offered, and refused
    }
    expect(blocked.connections).toBe(0);
    expect(blocked6.connections).toBe(0);
  });

  test("the bulk client's ranged reads check their hops too", async () => {
    const r = await download(side.app, {
      model_uri: `${redirector.url}/switch/w.bin?u=${encodeURIComponent(`${blocked.url}/w.bin`)}`,
      model_name: "redir-bulk",
    });
    expect(r.final?.model_status).toBe("failed");
    expect(JSON.stringify(r.final?.error)).toContain("AIRUNTIME_ALLOWED_SOURCES");
    expect(blocked.connections).toBe(0);
  });
});

describe("defaults: link-local and metadata addresses", () => {
  test("refused with no allow-list, directly and as a redirect hop", async () => {
    for (const [name, uri] of [
      ["meta4", "http://169.254.169.254/latest/meta-data/iam.json"],
      ["meta6", "http://[fd00:ec2::254]/latest/meta-data/iam.json"],
      ["ll6", "http://[fe80::1]/w.bin"],
      ["hop", `${redirector.url}/to/w.bin?u=${encodeURIComponent("http://169.254.169.254/latest/x.json")}`],
    ] as const) {
      const r = await download(open.app, { model_uri: uri, model_name: name });
      expect(r.final?.model_status).toBe("failed");
      expect(JSON.stringify(r.final?.error)).toContain("link-local / metadata address");
    }
  });
});

describe("C2/C3: local paths pass the allow-list with symlinks resolved", () => {
  test("a symlink inside an allowed prefix pointing outside is refused; a real directory loads", async () => {
    const before = await engineLoads();
    const direct = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "via-link",
      lora_path: join(allowedLocal, "link"),
    });
    expect(direct.status).toBe(403);
    const delegated = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "via-link2",
      artifact_url: join(allowedLocal, "link"),
    });
    expect(delegated.status).toBe(403);
    const copied = await download(side.app, {
      model_uri: join(allowedLocal, "link"),
      model_name: "via-link3",
    });
    expect(copied.final?.model_status).toBe("failed");
    expect(JSON.stringify(copied.final?.error)).toContain("AIRUNTIME_ALLOWED_SOURCES");
    expect(await readdir(join(root, "models", "via-link3")).catch(() => [])).not.toContain(
      "adapter_model.safetensors",
    );
    expect(await engineLoads()).toBe(before);
    const real = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "real",
      lora_path: join(allowedLocal, "real"),
    });
    expect(real.status).toBe(200);
  });

  test("direct lora_path and a lifecycle local artifact_url outside the allow-list are refused", async () => {
    const before = await engineLoads();
    const direct = await call(side.app, "/v1/lora_adapter/load", {
      lora_name: "direct-out",
      lora_path: outside,
    });
    expect(direct.status).toBe(403);
    expect(direct.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
    expect(await engineLoads()).toBe(before);
    const act = await call(side.app, "/v1/runtime/models/activate", {
      model_name: "outside-model",
      artifact_url: outside,
      engine: "vllm",
    });
    expect(act.status).toBe(400);
    expect(act.text).toContain("AIRUNTIME_ALLOWED_SOURCES");
    const models = await call(side.app, "/v1/runtime/models");
    expect(JSON.stringify(models.json)).not.toContain("outside-model");
  });
});

describe("C10: in_place stays inside the download roots", () => {
  test("/usr is refused; a directory under DOWNLOADER_LOCAL_DIR is used in place", async () => {
    const usr = await call(open.app, "/v1/model/download", {
      model_uri: "/usr",
      model_name: "usr",
      download_extra_config: { in_place: true },
    });
    expect(usr.status).toBe(400);
    expect(usr.text).toContain("outside the download roots");
    const inside = await writeAdapterDir(join(root, "models2", "staged"), "staged");
    const ok = await call(open.app, "/v1/model/download", {
      model_uri: inside,
      model_name: "staged",
      download_extra_config: { in_place: true },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.model_root_path).toBe(inside);
  });
});
