// The README (or a page under docs/) documents every configuration variable the schema knows (one source of
// truth for names). A variable counts only as its whole name in backticks: `FOO` does not document FOO_BAR,
// nor does `FOO_BAR` document FOO.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
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
