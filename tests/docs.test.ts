// The README documents every configuration variable the schema knows (one source of truth for names).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CONFIG_VARIABLES } from "../config.ts";

test("README's configuration table names every variable", () => {
  const readme = readFileSync("README.md", "utf8");
  const missing = CONFIG_VARIABLES.filter(
    (v) => !readme.includes(`\`${v}\``) && !readme.includes(`${v}\``) && !readme.includes(`\`${v}`),
  );
  expect(missing).toEqual([]);
});
