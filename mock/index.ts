// Mock inference engine: vLLM, SGLang, llama.cpp, TGI, trtllm-serve and Triton personalities that behave like
// the real engines on the wire (paths, statuses, bodies, content types, auth, metric families), with a seeded
// simulated load and injectable faults. Facts come from reference/ENGINES.md §1-6 and §11.
//
//   const engine = await startMockEngine({ engine: "vllm", port: 0 });   // 127.0.0.1, free port
//   engine.url             // "http://127.0.0.1:41234"
//   engine.metricsUrl      // Prometheus endpoint (Triton: its second port; trtllm: /prometheus/metrics)
//   engine.metricsPortUrl  // the separate metrics listener (Triton 8002, TGI 9000), or null
//   engine.counters()      // { "my-lora": { load: 1, unload: 0 } }  every load/unload call received, per adapter
//   engine.loaded()        // { "my-lora": "/tmp/adapters/my-lora" }
//   engine.setFault({ errorRate: 0.3 })  // also slowMetricsMs, reset, malformedMetrics, hangMetrics, unhealthy;
//                                        // a key set to null/false/0 switches it off; setFault(null) clears all
//   await engine.restart(500)  // forget adapters, reset metrics, down/"starting" for 500 ms (resolves when down)
//   await engine.whenReady()
//   engine.step(10); engine.simulateRequest("my-lora")   // drive the simulated load by hand
//   await engine.stop()
//
// Options (MockOptions in types.ts): engine, host, port (0 = free), metricsPort, model, apiKey, maxLoras,
// startupDelayMs, seed, faults, env (VLLM_ALLOW_RUNTIME_LORA_UPDATING / VLLM_SERVER_DEV_MODE; both on by
// default), metrics (Prometheus endpoint on/off), enableLora, tickMs (0 = one step per scrape: reproducible),
// load (peak requests/s; 0 = idle), loras (adapters present from start), modelControlMode (Triton).
//
// A LoRA load succeeds only for an existing directory holding adapter_config.json (as vLLM checks).
// Spawned as a process (`airuntime mock-engine --engine vllm --port 0`), the same controls are on debug routes
// that need no auth and ignore faults: GET /_mock/stats (counters, loaded, sim), POST /_mock/restart?down_ms=N,
// POST /_mock/fault {"errorRate":0.3} (null/false switches one off), DELETE /_mock/fault, POST /_mock/step?n=N,
// POST /_mock/request {"model":"my-lora"}.
export { mockOptionsFromArgs, runMockEngine } from "./cli.ts";
export { parseFaultSpec } from "./faults.ts";
export { type MockEngine, startMockEngine } from "./server.ts";
export type { CallCounts, Faults, MockEngineName, MockOptions } from "./types.ts";
export { MOCK_ENGINES } from "./types.ts";
