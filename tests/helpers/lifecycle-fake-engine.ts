// A minimal engine for lifecycle tests that must not depend on the mock engine: /health (200 after an
// optional delay), vLLM-style /sleep and /wake_up, /metrics. Usage: bun tests/helpers/lifecycle-fake-engine.ts PORT NAME
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const name = process.argv[3] ?? "fake";
const bootMs = Number(process.env.FAKE_ENGINE_BOOT_MS ?? "0");
const started = Date.now();
let sleeping = false;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const send = (status: number, body = "") => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(body);
  };
  if (url.pathname === "/health") return send(Date.now() - started >= bootMs ? 200 : 503);
  if (url.pathname === "/sleep" && req.method === "POST") {
    sleeping = true;
    return send(200);
  }
  if (url.pathname === "/wake_up" && req.method === "POST") {
    sleeping = false;
    return send(200);
  }
  if (url.pathname === "/_env") return send(200, JSON.stringify(process.env));
  if (url.pathname === "/v1/models")
    return send(200, JSON.stringify({ object: "list", data: [{ id: name }] }));
  if (url.pathname === "/is_sleeping") return send(200, JSON.stringify({ is_sleeping: sleeping }));
  if (url.pathname === "/metrics")
    return send(
      200,
      `vllm:num_requests_running{model_name="${name}"} 1\nvllm:num_requests_waiting{model_name="${name}"} 2\n`,
    );
  send(404);
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
