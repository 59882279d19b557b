// Issue 18, the download CLI on a real terminal: in tmux at 60 columns a download leaves a few lines (the bar
// redraws in place), ends with a summary and its rate; a rerun re-resolves the revision with one call and
// says "already complete at <sha>"; when the branch moved only the changed file is fetched. Plus the flag
// conventions: `--local-dri` -> exit 2 "did you mean --local-dir", --dry-run prints the plan, --quiet.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHfHub, startFakeHfHub } from "./fakes/hf-hub.ts";
import { BIN, waitUntil } from "./helpers/sidecar.ts";
import { tool } from "./helpers/tools.ts";
import { MiB, randomPayload, removeTempDirs, tempDir } from "./storage/helpers.ts";

const tmux = tool("tmux");
let hub: FakeHfHub;
let commit: string;
const weights = randomPayload(12 * MiB);
const config = new TextEncoder().encode('{"model_type":"tiny"}');

beforeAll(async () => {
  hub = await startFakeHfHub();
  commit = await hub.addRepo("org/tiny", [
    { path: "config.json", body: config },
    { path: "model.safetensors", body: weights },
  ]);
});
afterAll(async () => {
  await hub.stop();
  await removeTempDirs();
});

/** Run the CLI without blocking this process (the fake hub answers from it). */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Run the CLI in a detached tmux window `cols` wide; returns the screen and the exit status. */
async function inTmux(args: string[], env: Record<string, string>, cols = 60) {
  const dir = await tempDir("tmux");
  const session = `airuntime-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const status = join(dir, "status");
  const envs = Object.entries(env).map(([k, v]) => `${k}='${v}'`);
  const cmd = `env ${envs.join(" ")} '${BIN}' ${args.map((a) => `'${a}'`).join(" ")} > '${join(dir, "stdout")}'; echo $? > '${status}'; sleep 30`;
  // A server of our own (-L), so nothing of the user's tmux is touched.
  const run = (a: string[]) =>
    spawnSync(tmux.path!, ["-L", session, "-f", "/dev/null", ...a], { encoding: "utf8" });
  const started = run(["new-session", "-d", "-s", session, "-x", String(cols), "-y", "30", cmd]);
  expect(started.stderr).toBe("");
  expect(started.status).toBe(0);
  // Screens seen while it runs: the bar must be one line, redrawn in place.
  const during: string[][] = [];
  const screen = () =>
    run(["capture-pane", "-p", "-t", session])
      .stdout.split("\n")
      .filter((l) => l.trim() !== "");
  try {
    await waitUntil(() => {
      if (existsSync(status) && readFileSync(status, "utf8").endsWith("\n")) return true;
      during.push(screen());
      return false;
    }, 30_000);
    return {
      during,
      code: Number(readFileSync(status, "utf8").trim()),
      lines: screen(),
      stdout: readFileSync(join(dir, "stdout"), "utf8"),
    };
  } finally {
    run(["kill-server"]);
  }
}

tmux.test(
  "60 columns: the bar stays on one line, a summary with the rate; a rerun is 'already complete at <sha>'",
  async () => {
    const local = await tempDir("tmux-dl");
    hub.throttle.bytesPerSec = 3 * MiB; // one connection, ~4 s: several redraws
    const env = {
      HF_ENDPOINT: hub.url,
      DOWNLOADER_PART_CHUNKSIZE: "1MiB",
      DOWNLOADER_NUM_THREADS: "1",
      TERM: "xterm",
    };
    const first = await inTmux(["download", "hf://org/tiny", "--local-dir", local], env);
    hub.throttle.bytesPerSec = 0;
    expect(first.code).toBe(0);
    if (process.env.SHOW_SCREEN) console.log([...first.during.slice(-2).flat(), ...first.lines].join("\n"));
    // While it ran, the bar was on screen, as one line of at most 60 columns.
    const bars = first.during.filter((sc) => sc.some((l) => /^\[[#-]+\]/.test(l)));
    expect(bars.length).toBeGreaterThan(0);
    for (const sc of bars) {
      expect(sc.filter((l) => /^\[[#-]+\]/.test(l)).length).toBe(1);
      expect(sc.length).toBeLessThanOrEqual(2);
      for (const l of sc) expect(l.length).toBeLessThanOrEqual(60);
    }
    // The bar (its last frame) and the summary: no line per redraw, nothing wrapped at 60 columns.
    expect(first.lines.length).toBeLessThanOrEqual(3);
    for (const l of first.lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(first.lines.join("\n")).toMatch(
      /downloaded 2 files, 12\.0 MiB in [\d.]+ s \([\d.]+ [KMG]?i?B\/s\), verified/,
    );
    expect(first.stdout.trim()).toBe(join(local, "org/tiny"));

    hub.resetStats();
    const again = await inTmux(["download", "hf://org/tiny", "--local-dir", local], env);
    expect(again.code).toBe(0);
    expect(again.lines.join("\n")).toContain(`already complete at ${commit}`);
    expect(hub.totalBytes()).toBe(0);
  },
  90_000,
);

test("rerun after the branch moved: only the changed file is fetched", async () => {
  const local = await tempDir("moved");
  const env = { HF_ENDPOINT: hub.url };
  const run = () => cli(["download", "hf://org/moving", "--local-dir", local], env);
  await hub.addRepo("org/moving", [
    { path: "config.json", body: config },
    { path: "model.safetensors", body: weights },
  ]);
  expect((await run()).status).toBe(0);
  const unchanged = await run();
  expect(unchanged.status).toBe(0);
  expect(unchanged.stderr).toContain("already complete at ");
  const moved = await hub.addRepo("org/moving", [
    { path: "config.json", body: new TextEncoder().encode('{"model_type":"tiny","v":2}') },
    { path: "model.safetensors", body: weights },
  ]);
  hub.resetStats();
  const r = await run();
  expect(r.status).toBe(0);
  expect(hub.stats("org/moving", "config.json").requests).toBe(1);
  expect(hub.stats("org/moving", "model.safetensors").bytes).toBe(0);
  expect(readFileSync(join(local, "org/moving", "config.json"), "utf8")).toContain('"v":2');
  expect((await run()).stderr).toContain(`already complete at ${moved}`);
  // --offline: no call to the hub at all.
  const calls = hub.apiCalls;
  const off = await cli(["download", "hf://org/moving", "--local-dir", local, "--offline"], env);
  expect(off.status).toBe(0);
  expect(hub.apiCalls).toBe(calls);
}, 60_000);

test("`--local-dri`: exit 2, one line with the suggestion and where to look", () => {
  const r = spawnSync(BIN, ["download", "--local-dri", "x", "hf://o/m"], { encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(
    "error: unknown flag --local-dri (did you mean --local-dir?)\nSee 'airuntime download --help'.\n",
  );
});

test("--dry-run prints the plan and downloads nothing; --quiet prints only the path", async () => {
  const local = await tempDir("dry");
  const env = { HF_ENDPOINT: hub.url };
  const dry = await cli(
    ["download", "hf://org/tiny", "--local-dir", local, "--dry-run", "--include", "*.json"],
    env,
  );
  expect(dry.status).toBe(0);
  expect(dry.stdout).toContain("config.json");
  expect(dry.stdout).not.toContain("model.safetensors");
  expect(dry.stdout).toContain(`1 file, 21 B at ${commit}`);
  expect(existsSync(join(local, "org/tiny"))).toBe(false);
  const quiet = await cli(
    ["download", "hf://org/tiny", "--local-dir", local, "-q", "--exclude", "*.safetensors"],
    env,
  );
  expect(quiet.status).toBe(0);
  expect(quiet.stderr).toBe("");
  expect(quiet.stdout.trim()).toBe(join(local, "org/tiny"));
  expect(existsSync(join(local, "org/tiny", "model.safetensors"))).toBe(false);
});
