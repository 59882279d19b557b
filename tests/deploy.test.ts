// deploy/ agrees with the code: ports, probe paths, volume mounts and env names come from one source of truth.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_VARIABLES, loadConfig } from "../config.ts";
import { parseYamlDocuments } from "../platform/yaml.ts";
import { BIN } from "./helpers/sidecar.ts";

type Obj = Record<string, any>;
const dir = "deploy";
const kustomization = parseYamlDocuments(readFileSync(join(dir, "kustomization.yaml"), "utf8"))[0] as Obj;
const docs: Obj[] = (kustomization.resources as string[]).flatMap(
  (f) => parseYamlDocuments(readFileSync(join(dir, f), "utf8")) as Obj[],
);
const deployments = docs.filter((d) => d.kind === "Deployment");
const isSidecarImage = (c: Obj) => String(c.image).startsWith("airuntime");

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("deploy manifests", () => {
  test("kustomization lists every manifest and they parse", () => {
    expect(deployments.length).toBe(2);
    expect(docs.some((d) => d.kind === "PodMonitor")).toBe(true);
    expect(docs.some((d) => d.kind === "PersistentVolumeClaim")).toBe(true);
  });

  for (const d of deployments) {
    describe(d.metadata.name, () => {
      const spec = d.spec.template.spec as Obj;
      const sidecar = (spec.containers as Obj[]).find((c) => c.name === "aibrix-runtime")!;
      const env = Object.fromEntries(
        ((sidecar.env ?? []) as Obj[]).map((e) => [e.name, e.value ?? "secret"]),
      );
      const config = loadConfig(env, { port: Number(flag(sidecar.command, "--port")) });

      test("the sidecar is named aibrix-runtime and runs the AIBrix webhook's command", () => {
        expect(sidecar).toBeDefined();
        expect(sidecar.command.slice(0, 1)).toEqual(["aibrix_runtime"]);
      });

      test("port, probes and the metrics port agree with the code", () => {
        const metricsPort = (sidecar.ports as Obj[]).find((p) => p.name === "metrics")!;
        expect(metricsPort.containerPort).toBe(config.port);
        expect(sidecar.livenessProbe.httpGet).toEqual({ path: "/healthz", port: config.port });
        expect(sidecar.readinessProbe.httpGet).toEqual({ path: "/ready", port: config.port });
      });

      test("every env name is a variable airuntime reads", () => {
        for (const name of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(name);
      });

      test("engine endpoint points at the engine container's port", () => {
        const engine = (spec.containers as Obj[]).find((c) => !isSidecarImage(c))!;
        const enginePort = (engine.ports as Obj[])[0]!.containerPort;
        expect(new URL(config.engineEndpoints[0]!).port).toBe(String(enginePort));
      });

      test("the adapters dir is the same shared volume in the sidecar and the engine", () => {
        const mountOf = (c: Obj, path: string) =>
          (c.volumeMounts as Obj[]).find((m) => m.mountPath === path)?.name;
        const vol = mountOf(sidecar, config.adaptersDir);
        expect(vol).toBe("adapter-storage");
        for (const c of spec.containers as Obj[]) expect(mountOf(c, config.adaptersDir)).toBe(vol);
        expect((spec.volumes as Obj[]).find((v) => v.name === vol)?.emptyDir).toBeDefined();
        // The download root is a mounted volume too.
        expect(mountOf(sidecar, config.downloader.localDir.replace(/\/$/, ""))).toBe("models");
      });

      test("init containers run a real airuntime subcommand", () => {
        for (const ic of (spec.initContainers ?? []) as Obj[]) {
          if (!isSidecarImage(ic)) continue;
          const [bin, sub] = ic.command as string[];
          expect(bin).toBe("airuntime");
          const r = spawnSync(BIN, [sub!, "--help"], { encoding: "utf8" });
          expect(r.status).toBe(0);
          for (const e of (ic.env ?? []) as Obj[]) expect(CONFIG_VARIABLES).toContain(e.name);
        }
      });
    });
  }

  test("the PodMonitor scrapes the sidecar's metrics port and path", () => {
    const pm = docs.find((d) => d.kind === "PodMonitor")!;
    const ep = pm.spec.podMetricsEndpoints[0];
    expect(ep.port).toBe("metrics");
    expect(ep.path).toBe("/metrics");
    const apps = pm.spec.selector.matchExpressions[0].values as string[];
    for (const d of deployments) expect(apps).toContain(d.spec.template.metadata.labels.app);
  });
});
