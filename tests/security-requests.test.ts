// Issue 12, request side (in process through app.request, real sockets to a catch server):
// C1 the sidecar's key never reaches the engine, whichever header carried it; C4 URL credentials never in
// download status files, the API or logs; C9 a 422 is bounded whatever was sent; F10 request credentials
// are held for redaction while their request or download runs and released after (no ever-growing set).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { REDACTED, redactString, secretCount } from "../redact.ts";
import { cleanup, filesUnder, type InProc, inProc } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

setDefaultTimeout(30_000);

/**
 * Records every request's headers; HF API calls whose token contains HOLD, and any URL with `hold=1`, are
 * held until released.
 */
interface Catch {
  url: string;
  seen: Array<{ path: string; headers: IncomingMessage["headers"] }>;
  held: ServerResponse[];
  release(): void;
  stop(): Promise<void>;
}

async function startCatch(): Promise<Catch> {
  const seen: Catch["seen"] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    if (
      (req.url?.startsWith("/api/") && String(req.headers.authorization ?? "").includes("HOLD")) ||
      req.url?.includes("hold=1")
    ) {
      held.push(res);
      return;
    }
    if (req.url?.startsWith("/v1/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"object":"list","data":[]}');
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    held,
    release() {
      for (const res of held.splice(0)) res.destroy();
    },
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const KEY = "C1-SIDECAR-KEY-7e6d5c4b";
let engine: Catch;
let s: InProc;
const auth = { "x-airuntime-key": KEY };

beforeAll(async () => {
  engine = await startCatch();
  s = await inProc({
    INFERENCE_ENGINE_ENDPOINT: engine.url,
    HF_ENDPOINT: engine.url,
    AIRUNTIME_API_KEY: KEY,
    HF_HUB_DOWNLOAD_TIMEOUT: "30",
    // The pre-download listing waits min(3 s, half of this) on a held source before accepting: 1 s here.
    AIRUNTIME_REQUEST_TIMEOUT: "2",
  });
});

afterAll(async () => {
  engine.release();
  await s?.sidecar.stop();
  await engine?.stop();
  if (s) cleanup(s.dir, s.registry);
});

test("C1: the sidecar's key is never forwarded to the engine, whichever header carried it", async () => {
  const before = engine.seen.length;
  // Both headers carry our key.
  expect(
    (await s.request("GET", "/v1/models", undefined, { ...auth, authorization: `Bearer ${KEY}` })).status,
  ).toBe(200);
  // Our key in X-Airuntime-Key, the engine's own key in Authorization: the engine's key is forwarded.
  const r = await s.request("GET", "/v1/models", undefined, {
    ...auth,
    authorization: "Bearer ENGINE-KEY-1",
  });
  expect(r.status).toBe(200);
  const calls = engine.seen.slice(before).filter((x) => x.path.startsWith("/v1/models"));
  expect(calls.length).toBe(2);
  for (const c of calls) expect(JSON.stringify(c.headers)).not.toContain(KEY);
  expect(calls[0]!.headers.authorization).toBeUndefined();
  expect(calls[1]!.headers.authorization).toBe("Bearer ENGINE-KEY-1");
});

test("C4: credentials in a download URL never reach the status file, the API or the logs", async () => {
  // user:pass@ in a model_uri is refused outright (422), the password not echoed; query credentials are accepted.
  const userinfo = await s.request(
    "POST",
    "/v1/model/download",
    { model_uri: "http://user:C4DLPASSWORD9f8e@127.0.0.1:9/w/model.bin", model_name: "userinfo" },
    auth,
  );
  expect(userinfo.status).toBe(422);
  expect(userinfo.text).not.toContain("C4DLPASSWORD9f8e");
  const secrets = [
    "C4DLTOKEN1a2b3c",
    "C4DLAPIKEY4d5e6f",
    "C4DLSIG7a8b9c",
    "C4DLAMZSIG0d1e2f",
    "C4DLAPI_KEY3a4b",
  ];
  const query = `token=${secrets[0]}&apikey=${secrets[1]}&sig=${secrets[2]}&X-Amz-Signature=${secrets[3]}&api_key=${secrets[4]}`;
  // A refused connection is answered at once (502/503, the source is listed first); its body names no secret.
  const refused = await s.request(
    "POST",
    "/v1/model/download",
    { model_uri: `http://127.0.0.1:9/w/model.bin?${query}`, model_name: "signed-refused" },
    auth,
  );
  expect([502, 503]).toContain(refused.status);
  // A source that holds the listing: the download is accepted and runs.
  const uri = `${engine.url}/w/model.bin?hold=1&${query}`;
  const r = await s.request("POST", "/v1/model/download", { model_uri: uri, model_name: "signed-dl" }, auth);
  expect(r.status).toBe(200);
  const status = async () =>
    (await s.request("GET", "/v1/model/status?model_name=signed-dl", undefined, auth)).text;
  // The job waits on the held listing; its status file is on disk meanwhile.
  const files = (await waitUntil(() => {
    const f = filesUnder(s.env.DOWNLOADER_LOCAL_DIR!);
    return f.some(([p, text]) => p.endsWith(".status.json") && text.includes(REDACTED)) ? f : undefined;
  })) as Array<[string, string]>;
  const seen = [refused.text, r.text, await status(), s.lines.join("\n"), ...files.map(([, t]) => t)].join(
    "\n",
  );
  for (const v of secrets) expect(seen).not.toContain(v);
});

test("C9: a 422 echoes a bounded part of the input, one entry per problem", async () => {
  const body: Record<string, string> = {};
  for (let i = 0; i < 12; i++) body[`junk${i}`] = "J".repeat(60_000);
  const sent = JSON.stringify(body);
  expect(sent.length).toBeGreaterThan(700_000);
  const r = await s.request("POST", "/v1/lora_adapter/load", sent, auth);
  expect(r.status).toBe(422);
  expect(r.text.length).toBeLessThan(8 * 1024);
  const detail = r.json.detail as Array<{ loc: string[]; input?: unknown }>;
  expect(detail.length).toBeGreaterThan(0);
  expect(detail.length).toBeLessThanOrEqual(20);
  // Each input as echoed: a string cut at 128 characters (plus an ellipsis), anything larger summarized.
  for (const d of detail)
    expect(
      (typeof d.input === "string" ? d.input : JSON.stringify(d.input ?? null)).length,
    ).toBeLessThanOrEqual(129);
  expect(detail.some((d) => d.loc.includes("lora_name"))).toBe(true);
  // A 60,000-character value of a known field is echoed as its first 128 characters.
  const long = await s.request(
    "POST",
    "/v1/model/download",
    { model_uri: "s3://b/m/", model_name: "L".repeat(60_000) },
    auth,
  );
  expect(long.status).toBe(422);
  const entry = (long.json.detail as Array<{ loc: string[]; input?: unknown }>).find((d) =>
    d.loc.includes("model_name"),
  );
  expect(entry?.input).toBe(`${"L".repeat(128)}…`);
});

test("F10: many distinct request credentials leave the redaction set at its baseline", async () => {
  const baseline = secretCount();
  const values: string[] = [];
  for (let i = 0; i < 400; i++) {
    const token = `F10-TOKEN-${i}-${Math.random().toString(36).slice(2)}`;
    values.push(token);
    const r = await s.request(
      "POST",
      "/v1/model/download",
      { model_uri: `hf://org/m${i}`, download_extra_config: { hf_token: token } },
      auth,
    );
    expect(r.status).toBeLessThan(500);
  }
  // Every job fails fast (the hub answers 404); once they are done nothing of theirs is kept.
  await waitUntil(() => secretCount() === baseline, 20_000);
  for (const v of values.slice(0, 20)) expect(redactString(`x ${v} y`)).toBe(`x ${v} y`);
});

test("F10: a credential is redacted while its download runs, released when it ends", async () => {
  const baseline = secretCount();
  const token = "HOLD-F10-RUNNING-TOKEN-5a6b7c";
  const r = await s.request(
    "POST",
    "/v1/model/download",
    { model_uri: "hf://org/held", download_extra_config: { hf_token: token } },
    auth,
  );
  expect(r.status).toBe(200);
  // The hub holds the job's listing request: the job runs, its token must stay redacted. (The request's
  // own pre-listing was held first and given up after its deadline; wait for the job's one too.)
  await waitUntil(() => engine.seen.filter((x) => x.path.includes("/org/held")).length >= 2);
  expect(redactString(`listing failed for ${token}`)).toBe(`listing failed for ${REDACTED}`);
  expect(secretCount()).toBeGreaterThan(baseline);
  engine.release();
  await waitUntil(() => secretCount() === baseline, 20_000);
  expect(redactString(token)).toBe(token);
  expect(s.lines.join("\n")).not.toContain(token);
});
