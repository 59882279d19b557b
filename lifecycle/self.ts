// How to run this program again (mock engines are `airuntime mock-engine ...`): the compiled binary is
// process.execPath alone; from source it is the runtime plus the entry script.
import { existsSync } from "node:fs";
import process from "node:process";

export function selfCommand(): string[] {
  const script = process.argv[1];
  const fromSource =
    script !== undefined &&
    /\.(ts|js|mjs)$/.test(script) &&
    !script.startsWith("/$bunfs/") &&
    existsSync(script);
  if (!fromSource) return [process.execPath];
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  return isDeno ? [process.execPath, "run", "-A", script] : [process.execPath, script];
}
