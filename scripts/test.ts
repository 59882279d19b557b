// npm test: build the binary (integration tests spawn it), run bun test, then print the one summary line CI
// reads: "N passed, N failed". Extra args are passed to bun test (e.g. a path filter).
// Tests whose external tool is missing are skipped with a "[tools] skip <tool> (<package>): <test>" line
// (tests/helpers/tools.ts); before the summary this prints one line per missing tool with the count.
import { spawn, spawnSync } from "node:child_process";

const started = performance.now();
if (!process.env.AIRUNTIME_SKIP_BUILD) {
  const b = spawnSync(process.execPath, ["run", "scripts/build.ts"], { stdio: "inherit" });
  if (b.status !== 0) {
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
}

const child = spawn(process.execPath, ["test", ...process.argv.slice(2)], {
  stdio: ["ignore", "inherit", "pipe"],
});
let tail = "";
let partial = "";
const skippedByTool = new Map<string, number>();
const notes: string[] = [];
child.stderr.on("data", (d: Buffer) => {
  process.stderr.write(d);
  const text = d.toString();
  tail = (tail + text).slice(-4000);
  const lines = (partial + text).split("\n");
  partial = lines.pop() ?? "";
  for (const l of lines) {
    const m = /^\[tools\] skip (\S+ \([^)]*\)):/.exec(l);
    if (m) skippedByTool.set(m[1]!, (skippedByTool.get(m[1]!) ?? 0) + 1);
    else if (l.startsWith("[soak] skipped")) notes.push(l);
  }
});
child.on("close", (code) => {
  for (const n of notes) console.log(n);
  for (const [t, n] of skippedByTool)
    console.log(`skipped ${n} test${n === 1 ? "" : "s"}: ${t.replace(" (", " not on PATH (")}`);
  console.log(`npm test wall time: ${((performance.now() - started) / 1000).toFixed(1)} s (build included)`);
  // bun's summary lines are " N pass" and " N fail" alone on a line; take the last of each.
  const last = (re: RegExp) => Number([...tail.matchAll(re)].at(-1)?.[1] ?? 0);
  const pass = last(/^\s*(\d+) pass$/gm);
  const fail = last(/^\s*(\d+) fail$/gm);
  const failed = code !== 0 && fail === 0 ? 1 : fail;
  console.log(`${pass} passed, ${failed} failed`);
  process.exit(code ?? 1);
});
