// The reference lives in docs/ (the README is the two commands and a tour): every configuration variable the
// schema knows, every exit code the program can end with and every route the API serves is documented
// there. A variable counts only as its whole name in backticks: `FOO` does not document FOO_BAR, nor does
// `FOO_BAR` document FOO. Bug ids (B1-B19) appear only where a table defines them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { CONFIG_VARIABLES } from "../config.ts";
import { EXIT } from "../exit.ts";
import { EXIT_CODES } from "../storage/errors.ts";
import { type Proc, startSidecar } from "./helpers/sidecar.ts";

const pages = () =>
  readdirSync("docs", { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);

function documentation(): string {
  return pages()
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
}

const documents = (text: string, v: string) => text.includes(`\`${v}\``);

test("docs/ names every configuration variable (whole names only)", () => {
  const text = documentation();
  expect(CONFIG_VARIABLES.length).toBeGreaterThan(20);
  expect(CONFIG_VARIABLES.filter((v) => !documents(text, v))).toEqual([]);
});

test("a prefix or an extension of a name does not count as documenting it", () => {
  expect(documents("set `AIRUNTIME_API_KEY_FILE` to a path", "AIRUNTIME_API_KEY")).toBe(false);
  expect(documents("`AIRUNTIME_API`", "AIRUNTIME_API_KEY")).toBe(false);
  expect(documents("| `AIRUNTIME_API_KEY` | the key |", "AIRUNTIME_API_KEY")).toBe(true);
});

test("docs/reference.md's exit-code table has every exit code, with the download reasons named", () => {
  const ref = readFileSync("docs/reference.md", "utf8");
  const table = ref.slice(ref.indexOf("## Exit codes"));
  const rows = new Map(
    [...table.matchAll(/^\| (\d+) \| ([^|]*) \|/gm)].map((m) => [Number(m[1]), m[2]!] as const),
  );
  const codes = new Set([...Object.values(EXIT), ...Object.values(EXIT_CODES)]);
  expect([...codes].filter((c) => !rows.has(c))).toEqual([]);
  // Each download reason is named on the row of its code.
  for (const [reason, code] of Object.entries(EXIT_CODES)) expect(rows.get(code)).toContain(`\`${reason}\``);
});

/** Route paths a page names (`/v1/x/{a,b}` expands to /v1/x/a and /v1/x/b; `?query` dropped). */
function documentedRoutes(text: string): Set<string> {
  const out = new Set<string>();
  for (const [, raw] of text.matchAll(/`(\/[^`\s]*)`/g)) {
    const path = raw!.split("?")[0]!;
    const brace = /\{([^}]*,[^}]*)\}/.exec(path);
    const expanded = brace ? brace[1]!.split(",").map((x) => path.replace(brace[0], x)) : [path];
    for (const p of expanded) out.add(p.replace(/\/$/, "") || "/");
  }
  return out;
}

let sidecar: Proc;
beforeAll(async () => {
  sidecar = await startSidecar();
});
afterAll(async () => {
  await sidecar?.stop();
});

test("docs/reference.md names every route the API serves (its OpenAPI document)", async () => {
  const spec = (await (await fetch(`${sidecar.url}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
  };
  const routes = Object.keys(spec.paths);
  expect(routes.length).toBeGreaterThan(15);
  const named = documentedRoutes(readFileSync("docs/reference.md", "utf8"));
  expect(routes.filter((r) => !named.has(r))).toEqual([]);
});

test("bug ids (B1-B19) appear only where docs/migrating-from-aibrix.md's table defines them", () => {
  const table = readFileSync("docs/migrating-from-aibrix.md", "utf8");
  const defined = new Set([...table.matchAll(/^\| (B\d+) \|/gm)].map((m) => m[1]!));
  expect(defined.size).toBe(19);
  for (const f of ["README.md", ...pages()]) {
    const used = [...readFileSync(f, "utf8").matchAll(/\bB(\d{1,2})\b/g)].map((m) => `B${m[1]}`);
    expect(used.filter((b) => !defined.has(b)).map((b) => `${f}: ${b}`)).toEqual([]);
  }
  // A page citing one links to the table (or is the page with the table).
  for (const f of ["README.md", ...pages()].filter((x) => x !== "docs/migrating-from-aibrix.md")) {
    const text = readFileSync(f, "utf8");
    if (/\bB\d{1,2}\b/.test(text)) expect(text).toContain("migrating-from-aibrix.md#aibrix-runtime-bugs");
  }
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

test("every file path SECURITY.md, README.md and docs/ name exists (tests and modules move; the docs follow)", () => {
  const top = new Set(readdirSync("."));
  for (const doc of ["SECURITY.md", "README.md"]) {
    const named = namedPaths(readFileSync(doc, "utf8"), top);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((p) => !pathExists(p)).map((p) => `${doc}: ${p}`)).toEqual([]);
  }
  // Pages under docs/ link relative to docs/ and name repository paths from the top.
  for (const doc of pages()) {
    const named = namedPaths(readFileSync(doc, "utf8"), top);
    const missing = named.filter((p) => !pathExists(p) && !pathExists(`docs/${p.replace(/^\.\//, "")}`));
    expect(missing.map((p) => `${doc}: ${p}`)).toEqual([]);
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
