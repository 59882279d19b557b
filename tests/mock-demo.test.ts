// `npm start` (scripts/demo.ts) prints a tour, and every curl command it prints works as printed.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { serve } from "../platform/serve.ts";
import { expect } from "bun:test";
import { freePort } from "./helpers/ports.ts";
import { spawnProcess } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";

// The demo takes fixed ports: ask the OS for free ones (port 0) and hand the numbers over.
tool("curl").test(
  "demo: tour printed, each curl works as printed, Ctrl-C stops everything",
  async () => {
    const [enginePort, sidecarPort] = [await freePort(), await freePort()];
    const demo = spawnProcess(process.execPath, [resolve("scripts/demo.ts")], {
      DEMO_ENGINE_PORT: String(enginePort),
      DEMO_SIDECAR_PORT: String(sidecarPort),
    });
    try {
      await demo.waitFor(/Ctrl-C stops both processes/, 30_000);
      const out = demo.output();
      expect(out).not.toContain("warning");
      const curls = out
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.startsWith("curl "));
      expect(curls.length).toBe(3);
      const [metrics, load, models] = curls as [string, string, string];
      expect(metrics).toBe(`curl -s localhost:${sidecarPort}/metrics | grep aibrix:`);
      const sh = (cmd: string) => spawnSync("sh", ["-c", cmd], { encoding: "utf8", timeout: 10_000 });
      const m = sh(metrics);
      expect(m.status).toBe(0);
      expect(m.stdout).toContain("aibrix:");
      const l = sh(load);
      expect(l.status).toBe(0);
      expect(l.stdout).toContain("demo-lora");
      expect(l.stdout.toLowerCase()).toContain("success");
      const ids = (JSON.parse(sh(models).stdout) as { data: Array<{ id: string }> }).data.map((d) => d.id);
      expect(ids).toContain("demo-lora");
      const workDir = /demo adapter\s+(\S+)\/adapters\/demo-lora/.exec(out)![1]!;
      demo.proc.kill("SIGINT");
      expect(await demo.exited).toBe(0);
      expect(existsSync(workDir)).toBe(false);
      // Both children are gone: the ports refuse connections.
      for (const p of [enginePort, sidecarPort])
        await expect(
          fetch(`http://127.0.0.1:${p}/`, { signal: AbortSignal.timeout(1000) }),
        ).rejects.toThrow();
    } finally {
      await demo.stop("SIGINT");
    }
  },
  60_000,
);

tool("curl").test(
  "demo: the sidecar's port taken: exit 1, the log is kept and its last lines say why",
  async () => {
    const [enginePort, sidecarPort] = [await freePort(), await freePort()];
    const taken = serve({ hostname: "127.0.0.1", port: sidecarPort, fetch: () => new Response("") });
    const demo = spawnProcess(process.execPath, [resolve("scripts/demo.ts")], {
      DEMO_ENGINE_PORT: String(enginePort),
      DEMO_SIDECAR_PORT: String(sidecarPort),
    });
    try {
      expect(await demo.exited).toBe(1);
      const out = demo.output();
      expect(out).toContain(`port ${sidecarPort} on 127.0.0.1 is already in use`);
      const log = /--- last lines of (\S+sidecar\.log) ---/.exec(out)?.[1];
      expect(log).toBeDefined();
      expect(existsSync(log!)).toBe(true);
      rmSync(dirname(log!), { recursive: true, force: true });
    } finally {
      await demo.stop("SIGINT");
      await taken.stop(0);
    }
  },
  60_000,
);
