// /openapi.json lists every route the app serves, with request and response schemas.
import { afterAll, expect, test } from "bun:test";
import { composeSidecar, type Sidecar } from "../compose.ts";
import { loadConfig } from "../config.ts";
import { silentLogger } from "../log.ts";

const sidecars: Sidecar[] = [];
afterAll(async () => {
  for (const s of sidecars) await s.stop();
});

test("every route is in the OpenAPI 3.1 document, with schemas", async () => {
  const config = loadConfig({
    INFERENCE_ENGINE_ENDPOINT: "http://127.0.0.1:9",
    AIRUNTIME_STATE_DIR: "/tmp/airuntime-openapi-test",
  });
  const s = await composeSidecar(config, silentLogger);
  sidecars.push(s);
  const res = await s.app.request("/openapi.json");
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { requestBody?: unknown; responses: Record<string, { content?: unknown }> }>
    >;
  };
  expect(doc.openapi).toBe("3.1.0");
  const served = s.app.routes
    .filter((r) => r.method !== "ALL")
    .map(
      (r) =>
        `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}").replace(/\/$/, "") || "/"}`,
    );
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p.replace(/\/$/, "") || "/"}`),
    ),
  );
  for (const route of new Set(served))
    expect(documented.has(route) ? route : `undocumented: ${route}`).toBe(route);
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      // Every operation documents at least one response with a schema; POST/PUT document their body.
      const withSchema = Object.values(op.responses).some((r) => r.content !== undefined);
      expect(withSchema ? path : `${method} ${path} has no response schema`).toBe(path);
      if (method === "post" || method === "put")
        expect(op.requestBody ? path : `${method} ${path} has no body schema`).toBe(path);
    }
  }
});
