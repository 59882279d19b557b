// Issue 12, lifecycle side (in process, real engine processes: tests/helpers/lifecycle-fake-engine.ts):
// F7 activation secrets never in clear on disk, and what a restart does without them; F13 prototype names as
// engine kinds; F14 model names under the name rule, never an engine option; C4 URL credentials never in
// the registry, the snapshot or the logs; C5 explicit ports inside the range; C6 no adoption (or kill)
// without a recorded start time.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expandCommand } from "../lifecycle/command.ts";
import { cleanup, filesUnder, type InProc, inProc, newDir, registryEngines } from "./helpers/inproc.ts";
import { waitUntil } from "./helpers/sidecar.ts";

setDefaultTimeout(30_000);

const started: InProc[] = [];
const dirs: Array<[string, string]> = [];
afterAll(async () => {
  for (const s of started) await s.sidecar.stop();
  for (const [d, r] of dirs) cleanup(d, r);
});

async function sidecar(env: Record<string, string> = {}, dir?: string): Promise<InProc> {
  const s = await inProc(env, dir);
  started.push(s);
  if (!dir) dirs.push([s.dir, s.registry]);
  return s;
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

test("F7: activation secrets reach the engine but never the registry or any file; a restart cannot reuse them", async () => {
  const K = {
    apiKey: "F7-API-KEY-5f1e2d3c",
    hfToken: "F7-HF-TOKEN-9a8b7c6d",
    extraKey: "F7-ADDITIONAL-KEY-11aa22",
    argPass: "F7-DB-PASSWORD-33bb44",
  };
  const s = await sidecar();
  const r = await s.request("POST", "/v1/runtime/models/activate", {
    model_name: "keyed",
    artifact_url: "/models/keyed",
    engine: "vllm",
    engine_config: {
      args: { "--api-key": K.apiKey, "--hf-token": K.hfToken, "--max-num-batched-tokens": "512" },
    },
    additional_config: { "api-key": K.extraKey, "engine-arg:--db-password": K.argPass },
  });
  expect(r.status).toBe(200);
  const pid = (await waitUntil(() => registryEngines(s.registry)[0]?.pid)) as number;
  // The engine got every value in clear (it needs them) ...
  const argv = cmdline(pid);
  for (const v of [K.apiKey, K.hfToken, K.argPass]) expect(argv).toContain(v);
  expect(argv).toContain("--max-num-batched-tokens");
  // ... no file the sidecar wrote holds any of them, and the log lines neither.
  const written = filesUnder(s.dir);
  expect(written.map(([p]) => p)).toContain(s.registry);
  for (const [path, text] of written)
    for (const v of Object.values(K)) expect(text.includes(v) ? `${path} holds ${v}` : "clean").toBe("clean");
  for (const v of Object.values(K)) expect(s.lines.join("\n")).not.toContain(v);
  // The registry says what was set (names, non-secret values), not the secrets.
  const rec = registryEngines(s.registry)[0]!;
  expect(rec.engine_config.args).toEqual({
    "--api-key": "[REDACTED]",
    "--hf-token": "[REDACTED]",
    "--max-num-batched-tokens": "512",
  });
  expect(rec.additional_config).toEqual({
    "api-key": "[REDACTED]",
    "engine-arg:--db-password": "[REDACTED]",
  });

  // Sidecar restart with the engine still running: adopted, keeps running with its key.
  await s.sidecar.stop();
  const s2 = await sidecar({}, s.dir);
  const phase = async () => (await s2.request("GET", "/v1/runtime/models")).json.models[0]?.phase;
  await waitUntil(async () => (await phase()) === "active");
  expect(alive(pid)).toBe(true);
  // The engine dies: it cannot be started again without its key, and says so (never started keyless).
  process.kill(-pid, "SIGKILL");
  const failed = (await waitUntil(() => {
    const rec = registryEngines(s.registry)[0];
    return rec?.phase === "failed" ? rec : undefined;
  })) as Record<string, any>;
  expect(await phase()).toBe("failed");
  expect(failed.pid).toBeNull();
  expect(failed.last_error).toContain("activate the model again");
  const snap = (await s2.request("GET", "/v1/runtime/snapshot")).json.models[0];
  expect(snap.last_error).toContain("kept in memory only");
});

test("F13: engine 'constructor', '__proto__', 'toString' -> 422 naming engine, nothing persisted", async () => {
  const s = await sidecar();
  for (const engine of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const r = await s.request("POST", "/v1/runtime/models/activate", {
      model_name: `m-${engine.replace(/_/g, "")}`,
      artifact_url: "/models/x",
      engine,
    });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(["body", "engine"]);
  }
  expect(registryEngines(s.registry)).toEqual([]);
  expect((await s.request("GET", "/v1/runtime/models")).json.models).toEqual([]);
});

test("F14: model names with a newline, a leading '-', NUL or 300 chars -> 422 naming model_name (activate and download)", async () => {
  const s = await sidecar();
  const bad = ["--help", "-x", "a\nb", "a\u0000b", "x".repeat(300), "a b", "../x", "org/../x"];
  for (const name of bad) {
    const a = await s.request("POST", "/v1/runtime/models/activate", {
      model_name: name,
      artifact_url: "/models/x",
    });
    expect(a.status).toBe(422);
    expect(a.json.detail.some((d: { loc: string[] }) => d.loc.join(".") === "body.model_name")).toBe(true);
    const d = await s.request("POST", "/v1/model/download", { model_uri: "/models/x", model_name: name });
    expect(d.status).toBe(422);
    expect(d.json.detail.some((x: { loc: string[] }) => x.loc.join(".") === "body.model_name")).toBe(true);
  }
  expect(registryEngines(s.registry)).toEqual([]);
  // Valid names (with an org part) still pass the rule.
  const ok = await s.request("POST", "/v1/model/download", {
    model_uri: "/nonexistent/x",
    model_name: "org/Model-1.5B_v2",
  });
  expect(ok.status).not.toBe(422);
});

test("F14: a value starting with '-' never becomes an engine option (joined to its flag or refused)", () => {
  const v = { self: ["/bin/x"], engine: "vllm", port: 1, ipc_name: "i", args: [] as string[] };
  expect(
    expandCommand(["serve", "--model", "{model}", "--served-model-name", "{model_name}"], {
      ...v,
      model: "--help",
      model_name: "-v",
    }),
  ).toEqual(["serve", "--model=--help", "--served-model-name=-v"]);
  expect(() => expandCommand(["serve", "{model}"], { ...v, model: "--help", model_name: "m" })).toThrow(
    "would be read as an option",
  );
});

test("C4: credentials inside artifact_url never reach the registry, the API or the logs", async () => {
  const s = await sidecar();
  const secrets = ["C4SIGNATURE0a1b2c", "C4CREDENTIAL3d4e5f", "C4SESSIONTOKEN6a7b", "C4PASSWORD8c9d0e"];
  const url = `http://user:${secrets[3]}@127.0.0.1:9/w?X-Amz-Signature=${secrets[0]}&X-Amz-Credential=${secrets[1]}&X-Amz-Security-Token=${secrets[2]}`;
  const r = await s.request("POST", "/v1/runtime/models/activate", {
    model_name: "signed",
    artifact_url: url,
  });
  expect(r.status).toBe(200);
  const snapshot = async () => (await s.request("GET", "/v1/runtime/snapshot")).text;
  await waitUntil(async () => JSON.parse(await snapshot()).models[0]?.phase === "failed");
  const seen = [
    await snapshot(),
    r.text,
    s.lines.join("\n"),
    ...filesUnder(s.dir).map(([, text]) => text),
  ].join("\n");
  for (const v of secrets) expect(seen).not.toContain(v);
  expect(registryEngines(s.registry)[0]!.artifact_url).toBe(
    "http://user:[REDACTED]@127.0.0.1:9/w?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]&X-Amz-Security-Token=[REDACTED]",
  );
});

test("C5: an explicit port outside AIRUNTIME_ENGINE_PORT_RANGE -> 422 naming port, nothing persisted", async () => {
  const s = await sidecar();
  const [lo, hi] = s.env.AIRUNTIME_ENGINE_PORT_RANGE!.split("-").map(Number) as [number, number];
  for (const port of [1, 80, lo - 1, hi, 65000]) {
    const r = await s.request("POST", "/v1/runtime/models/activate", {
      model_name: "ported",
      artifact_url: "/models/p",
      port,
    });
    expect(r.status).toBe(422);
    expect(r.json.detail[0].loc).toEqual(["body", "port"]);
  }
  expect(registryEngines(s.registry)).toEqual([]);
  const inRange = await s.request("POST", "/v1/runtime/models/activate", {
    model_name: "ported",
    artifact_url: "/models/p",
    port: hi - 1,
  });
  expect(inRange.status).toBe(200);
  expect(inRange.json.port).toBe(hi - 1);
});

test("C6: a record without pid_start_time is never adopted, and deactivate never kills that PID", async () => {
  const dir = newDir("c6-");
  const registry = `${dir}/run/engines.json`;
  dirs.push([dir, registry]);
  // A process that is not an engine of ours, leading its own group (as an engine would).
  const stranger = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
  stranger.unref();
  const pid = stranger.pid!;
  try {
    mkdirSync(dirname(registry), { recursive: true });
    const lo = 30000 + Math.floor(Math.random() * 300) * 100;
    writeFileSync(
      registry,
      JSON.stringify({
        version: 1,
        engines: [
          {
            model_name: "stray",
            engine: "vllm",
            artifact_url: "/models/stray",
            port: lo + 50,
            ipc_name: "kvc_stray",
            pid,
            phase: "active",
          },
        ],
      }),
    );
    const s = await sidecar({ AIRUNTIME_ENGINE_PORT_RANGE: `${lo}-${lo + 100}` }, dir);
    // Not adopted: the record is restarted as a new engine of ours, the stranger untouched.
    const newPid = await waitUntil(() => {
      const p = registryEngines(registry)[0]?.pid as number | null | undefined;
      return p && p !== pid ? p : 0;
    });
    expect(registryEngines(registry)[0]!.pid_start_time).toEqual(expect.any(Number));
    expect(alive(pid)).toBe(true);
    const d = await s.request("POST", "/v1/runtime/models/deactivate", { model_name: "stray" });
    expect(d.status).toBe(200);
    await waitUntil(() => !alive(newPid));
    expect(alive(pid)).toBe(true);
  } finally {
    process.kill(pid, "SIGKILL");
  }
});
