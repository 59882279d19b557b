// bun test preload (bunfig.toml): the tests that spawn dist/airuntime never run against a stale build.
// When any source the binary is built from is newer than dist/airuntime (or it is missing), rebuild it
// first (into a temporary name, then rename, so a concurrent run never sees half a binary). A failed build
// stops the run with the build's message. AIRUNTIME_BIN=<path> (a binary built elsewhere) skips this.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const BIN = join(ROOT, "dist", "airuntime");
/** Folders whose files never go into the binary. */
const SKIP_DIRS = new Set(["node_modules", "dist", "tests", "bench", "scripts", "docs", "deploy", ".git"]);

/** Newest modification time (ms) of the binary's inputs: every non-test .ts file, package.json, the lock. */
export function newestSource(dir = ROOT): { mtimeMs: number; path: string } {
  let best = { mtimeMs: 0, path: "" };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (SKIP_DIRS.has(e.name) && dir === ROOT) continue;
      const sub = newestSource(p);
      if (sub.mtimeMs > best.mtimeMs) best = sub;
    } else if (
      (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) ||
      (dir === ROOT && ["package.json", "package-lock.json"].includes(e.name))
    ) {
      const m = statSync(p).mtimeMs;
      if (m > best.mtimeMs) best = { mtimeMs: m, path: p };
    }
  }
  const build = join(ROOT, "scripts", "build.ts");
  if (dir === ROOT && statSync(build).mtimeMs > best.mtimeMs)
    best = { mtimeMs: statSync(build).mtimeMs, path: build };
  return best;
}

function binaryTime(): number {
  try {
    return statSync(BIN).mtimeMs;
  } catch {
    return -1;
  }
}

if (!process.env.AIRUNTIME_BIN) {
  const newest = newestSource();
  const built = binaryTime();
  if (built < newest.mtimeMs) {
    const why = built < 0 ? "dist/airuntime is missing" : `${newest.path.slice(ROOT.length + 1)} is newer`;
    process.stderr.write(`[fresh-binary] ${why}: rebuilding dist/airuntime before the tests\n`);
    const tmp = join(ROOT, "dist", `.airuntime-${process.pid}`);
    const r = spawnSync(process.execPath, ["run", join(ROOT, "scripts", "build.ts"), tmp], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      rmSync(`${tmp}.map`, { force: true });
      throw new Error("dist/airuntime is stale and `bun run scripts/build.ts` failed (see above)");
    }
    renameSync(tmp, BIN);
    if (existsSync(`${tmp}.map`)) renameSync(`${tmp}.map`, `${BIN}.map`);
  }
}
