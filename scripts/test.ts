// npm test: build the binary (integration tests spawn it), run bun test, then print the one summary line CI
// reads: "N passed, N failed". Extra args are passed to bun test (e.g. a path filter).
import { spawn, spawnSync } from "node:child_process";

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
child.stderr.on("data", (d: Buffer) => {
  process.stderr.write(d);
  tail = (tail + d.toString()).slice(-4000);
});
child.on("close", (code) => {
  // bun's summary lines are " N pass" and " N fail" alone on a line; take the last of each.
  const last = (re: RegExp) => Number([...tail.matchAll(re)].at(-1)?.[1] ?? 0);
  const pass = last(/^\s*(\d+) pass$/gm);
  const fail = last(/^\s*(\d+) fail$/gm);
  const failed = code !== 0 && fail === 0 ? 1 : fail;
  console.log(`${pass} passed, ${failed} failed`);
  process.exit(code ?? 1);
});
