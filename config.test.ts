import { describe, expect, test } from "bun:test";
import {
  CONFIG_VARIABLES,
  ConfigError,
  configSecrets,
  loadConfig,
  parseSize,
  SECRET_VARS,
} from "./config.ts";

function problems(env: Record<string, string>, flags = {}): string[] {
  try {
    loadConfig(env, flags);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("loadConfig", () => {
  test("AIBrix defaults", () => {
    const c = loadConfig({});
    expect(c.host).toBe("0.0.0.0");
    expect(c.port).toBe(8080);
    expect(c.engine).toBe("vllm");
    expect(c.engineEndpoints).toEqual(["http://localhost:8000"]);
    expect(c.metricsMode).toBe("default");
    expect(c.downloader.localDir).toBe("/tmp/aibrix/models/");
    expect(c.downloader.checkFileExist).toBe(true);
    expect(c.downloader.forceDownload).toBe(false);
    expect(c.adaptersDir).toBe("/tmp/aibrix/adapters");
    expect(c.hf.endpoint).toBe("https://huggingface.co");
    expect(c.metricsIntervalMs).toBe(1000);
    expect(c.metricsMaxAgeMs).toBe(2000);
  });

  test("tos:// falls back to the AWS_* keys when TOS_* are unset, only towards an endpoint from the environment", () => {
    const aws = { AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK", AWS_SESSION_TOKEN: "ST" };
    const c = loadConfig({ ...aws, TOS_ENDPOINT: "https://tos-s3-cn-beijing.volces.com" });
    expect(c.tos).toEqual({
      accessKey: "AK",
      secretKey: "SK",
      sessionKey: "ST",
      endpoint: "https://tos-s3-cn-beijing.volces.com",
      region: undefined,
    });
    expect(loadConfig({ ...aws, AWS_ENDPOINT_URL: "http://127.0.0.1:9000" }).tos.endpoint).toBe(
      "http://127.0.0.1:9000",
    );
    // TOS keys win; no endpoint in the environment: AWS keys are not sent to the built-in TOS host.
    expect(loadConfig({ ...aws, TOS_ACCESS_KEY: "TA", TOS_SECRET_KEY: "TS" }).tos.accessKey).toBe("TA");
    expect(loadConfig(aws).tos.accessKey).toBeUndefined();
  });

  test("every supported engine is accepted (B1); a typo fails with a suggestion; generic only when asked", () => {
    for (const e of ["vllm", "sglang", "llamacpp", "tgi", "trtllm", "triton", "generic"] as const)
      expect(loadConfig({ INFERENCE_ENGINE: e }).engine).toBe(e);
    const typo = () => loadConfig({ INFERENCE_ENGINE: "vlm" });
    expect(typo).toThrow(ConfigError);
    expect(typo).toThrow("did you mean vllm?");
    expect(() => loadConfig({ INFERENCE_ENGINE: "ollama-next" })).toThrow("INFERENCE_ENGINE: 'ollama-next'");
    // What the AIBrix webhook injects when it cannot tell the engine from the image.
    const c = loadConfig({ INFERENCE_ENGINE: "unknown", INFERENCE_ENGINE_VERSION: "latest" });
    expect(c.engine).toBe("generic");
    expect(c.engineVersion).toBe("latest");
    expect(loadConfig({ INFERENCE_ENGINE: "" }).engine).toBe("vllm");
  });

  test("engine names are case-insensitive and accept common spellings", () => {
    expect(loadConfig({ INFERENCE_ENGINE: "SGLang" }).engine).toBe("sglang");
    expect(loadConfig({ INFERENCE_ENGINE: "llama.cpp" }).engine).toBe("llamacpp");
  });

  test("several endpoints, trailing slashes trimmed", () => {
    const c = loadConfig({ INFERENCE_ENGINE_ENDPOINT: "http://a:8000/, http://b:8001" });
    expect(c.engineEndpoints).toEqual(["http://a:8000", "http://b:8001"]);
  });

  test("every bad variable is listed at once, naming it", () => {
    const p = problems({
      INFERENCE_ENGINE_ENDPOINT: "not-a-url",
      DOWNLOADER_NUM_THREADS: "many",
      METRICS_ENABLE_TRANSFORMATION: "maybe",
      DOWNLOADER_PART_CHUNKSIZE: "tiny",
    });
    expect(p.length).toBe(4);
    expect(p.find((x) => x.startsWith("INFERENCE_ENGINE_ENDPOINT"))).toContain("not-a-url");
    expect(p.some((x) => x.startsWith("DOWNLOADER_NUM_THREADS"))).toBe(true);
    expect(p.some((x) => x.startsWith("METRICS_ENABLE_TRANSFORMATION"))).toBe(true);
    expect(p.some((x) => x.startsWith("DOWNLOADER_PART_CHUNKSIZE"))).toBe(true);
  });

  test("LOG_LEVEL and HF_ENDPOINT are validated", () => {
    const q = problems({ LOG_LEVEL: "loud", HF_ENDPOINT: "nope" });
    expect(q.length).toBe(2);
    expect(loadConfig({ LOG_LEVEL: "WARNING" }).logLevel).toBe("WARNING");
  });

  test("booleans use AIBrix's spellings", () => {
    expect(loadConfig({ METRICS_RAW_PASSTHROUGH_MODE: "ON" }).metricsMode).toBe("raw");
    expect(loadConfig({ METRICS_ENABLE_TRANSFORMATION: "0" }).metricsMode).toBe("raw");
    expect(loadConfig({ AIRUNTIME_METRICS_MODE: "standard" }).metricsMode).toBe("standard");
    expect(loadConfig({ DOWNLOADER_FORCE_DOWNLOAD: "yes" }).downloader.forceDownload).toBe(true);
  });

  test("sizes, seconds and lists", () => {
    expect(parseSize("64MiB")).toBe(64 * 1024 * 1024);
    expect(parseSize("512k")).toBe(512 * 1024);
    expect(parseSize("1048576")).toBe(1048576);
    expect(parseSize("lots")).toBeUndefined();
    const c = loadConfig({
      DOWNLOADER_PART_CHUNKSIZE: "8MiB",
      AIRUNTIME_METRICS_INTERVAL: "0.5",
      DOWNLOADER_ALLOW_FILE_SUFFIX: "json, safetensors",
    });
    expect(c.downloader.tuning.partSize).toBe(8 * 1024 * 1024);
    expect(c.metricsIntervalMs).toBe(500);
    expect(c.metricsMaxAgeMs).toBe(1000);
    expect(c.downloader.allowFileSuffix).toEqual(["json", "safetensors"]);
  });

  test("flags override defaults; a bad port is a problem", () => {
    expect(loadConfig({}, { host: "127.0.0.1", port: 0 }).port).toBe(0);
    expect(problems({}, { port: 70000 })[0]).toContain("--port");
  });

  test("paths must be absolute", () => {
    expect(problems({ AIRUNTIME_ADAPTERS_DIR: "relative/dir" })[0]).toContain("AIRUNTIME_ADAPTERS_DIR");
  });

  test("secrets are marked once, in the schema, and each secret's value is collected for redaction", () => {
    expect([...SECRET_VARS].sort()).toEqual(
      [
        "AIRUNTIME_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GCS_ACCESS_KEY_ID",
        "GCS_SECRET_ACCESS_KEY",
        "HF_TOKEN",
        "TOS_ACCESS_KEY",
        "TOS_SECRET_KEY",
        "TOS_SESSION_KEY",
      ].sort(),
    );
    const env = Object.fromEntries([...SECRET_VARS].map((v) => [v, `value-of-${v}`]));
    expect(configSecrets(loadConfig(env)).sort()).toEqual(Object.values(env).sort());
    expect(CONFIG_VARIABLES).toContain("HF_TOKEN");
  });

  test("derived settings: download tuning in one object, weight cache under HOME, commands only when set", () => {
    const c = loadConfig({ DOWNLOADER_NUM_THREADS: "3", AIRUNTIME_DOWNLOAD_RETRIES: "1", HOME: "/home/x" });
    expect(c.downloader.tuning).toEqual({
      connections: 3,
      startConnections: 4,
      partSize: 16 * 1024 * 1024,
      stallMs: 10_000,
      maxRetries: 1,
      verify: true,
      fsync: true,
    });
    expect(c.downloader.roots).toEqual(["/tmp/aibrix/models/"]);
    expect(c.lifecycle.weightCacheDir).toBe("/home/x/.cache/huggingface");
    expect(c.lifecycle.commands).toEqual({});
    expect(loadConfig({ AIRUNTIME_ENGINE_COMMAND_TGI: "tgi --port {port}" }).lifecycle.commands).toEqual({
      tgi: "tgi --port {port}",
    });
    expect(problems({ AIRUNTIME_ENGINE_COMMAND_VLLM: "[1]" })[0]).toContain("AIRUNTIME_ENGINE_COMMAND_VLLM");
  });
});
