// `promtool check metrics` for tests: run only inside `promtool.test(...)` (skipped, or failing under CI=true,
// when promtool is absent). Every call proves promtool ran: a missing binary, a signal or a spawn error
// throws instead of turning into an empty or "undefined" list of findings.
import { spawnSync } from "node:child_process";
import { tool } from "./tools.ts";

export const promtool = tool("promtool");

export interface PromtoolResult {
  /** promtool's exit code: 0 clean, 3 lint findings, 1 parse error. */
  status: number;
  /** Every non-empty line promtool printed (stdout and stderr), trimmed. */
  findings: string[];
}

export function checkMetrics(text: string): PromtoolResult {
  if (!promtool.path)
    throw new Error(`checkMetrics outside promtool.test: ${promtool.source} is not installed`);
  const r = spawnSync(promtool.path, ["check", "metrics"], {
    input: text,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.error || typeof r.status !== "number" || typeof r.stdout !== "string" || typeof r.stderr !== "string")
    throw new Error(`promtool did not run (${r.error?.message ?? `signal ${r.signal}`})`);
  // promtool exits 0 with nothing to say, or non-zero with at least one line saying why.
  const findings = `${r.stdout}\n${r.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (r.status !== 0 && findings.length === 0) throw new Error(`promtool exited ${r.status} with no output`);
  return { status: r.status, findings };
}
