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
  const pass = Number(/(\d+) pass/.exec(tail)?.[1] ?? 0);
  const fail = Number(/(\d+) fail/.exec(tail)?.[1] ?? 0);
  const failed = code !== 0 && fail === 0 ? 1 : fail;
  console.log(`${pass} passed, ${failed} failed`);
  process.exit(code ?? 1);
});
