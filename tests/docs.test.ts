// The README (or a page under docs/) documents every configuration variable the schema knows (one source of
// truth for names). A variable counts only as its whole name in backticks: `FOO` does not document FOO_BAR,
// nor does `FOO_BAR` document FOO.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { CONFIG_VARIABLES } from "../config.ts";

function documentation(): string {
  const pages = readdirSync("docs", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".md"));
  return [readFileSync("README.md", "utf8"), ...pages.map((f) => readFileSync(`docs/${f}`, "utf8"))].join(
    "\n",
  );
}

const documents = (text: string, v: string) => text.includes(`\`${v}\``);

test("README and docs/ name every configuration variable (whole names only)", () => {
  const text = documentation();
  expect(CONFIG_VARIABLES.length).toBeGreaterThan(20);
  expect(CONFIG_VARIABLES.filter((v) => !documents(text, v))).toEqual([]);
});

test("a prefix or an extension of a name does not count as documenting it", () => {
  expect(documents("set `AIRUNTIME_API_KEY_FILE` to a path", "AIRUNTIME_API_KEY")).toBe(false);
  expect(documents("`AIRUNTIME_API`", "AIRUNTIME_API_KEY")).toBe(false);
  expect(documents("| `AIRUNTIME_API_KEY` | the key |", "AIRUNTIME_API_KEY")).toBe(true);
});

/**
 * Repository paths a page names: backticked names whose first segment is a top-level entry of the repository
 * (`lora/manager.ts`, `tests/storage/*.test.ts`, `deploy/components/hardening`), backticked module or page
 * names without a folder (`redact.ts`, `BENCHMARKS.md`), and relative Markdown link targets. Routes
 * (`/v1/...`), URLs, placeholders (`<name>`) and runtime file names (`adapter_config.json`) are not paths here.
 */
function namedPaths(text: string, topLevel: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const [, n] of text.matchAll(/`([^`\s]+)`/g)) {
    if (!/^[\w.*-]+(\/[\w.*-]+)*\/?$/.test(n!)) continue;
    if (n!.includes("/") ? topLevel.has(n!.split("/")[0]!) : /^[\w-][\w.-]*\.(ts|md)$/.test(n!)) out.add(n!);
  }
  for (const [, target] of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g))
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target!)) out.add(target!);
  return [...out];
}

/** A named path exists; for a glob (`tests/storage/*.test.ts`) at least one file matches it. */
function pathExists(p: string): boolean {
  if (!p.includes("*")) return existsSync(p);
  const dir = p.slice(0, p.lastIndexOf("/"));
  const re = new RegExp(
    `^${p
      .slice(dir.length + 1)
      .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")}$`,
  );
  return existsSync(dir) && readdirSync(dir).some((f) => re.test(f));
}

test("every file path SECURITY.md and README.md name exists (tests and modules move; the docs follow)", () => {
  const top = new Set(readdirSync("."));
  for (const doc of ["SECURITY.md", "README.md"]) {
    const named = namedPaths(readFileSync(doc, "utf8"), top);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((p) => !pathExists(p)).map((p) => `${doc}: ${p}`)).toEqual([]);
  }
});

test("namedPaths: repository paths only, globs checked against the folder", () => {
  const top = new Set(["tests", "lora", "redact.ts"]);
  const text =
    "see `lora/manager.ts`, `tests/storage/*.test.ts`, `redact.ts`, `/v1/models`, `text/plain`, " +
    "`adapters/.<name>.partial`, `adapter_config.json`, `hf://org/x`, [k8s](docs/kubernetes.md#x), [w](https://a.b/c)";
  expect(namedPaths(text, top).sort()).toEqual(
    ["docs/kubernetes.md", "lora/manager.ts", "redact.ts", "tests/storage/*.test.ts"].sort(),
  );
  expect(pathExists("tests/storage/*.test.ts")).toBe(true);
  expect(pathExists("tests/storage/*.nope.ts")).toBe(false);
  expect(pathExists("lora/no-such-file.ts")).toBe(false);
});
