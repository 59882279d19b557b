// YAML parsing for the deploy-manifest tests (test-only, so not in platform/). Bun has a built-in
// parser; Deno would need @std/yaml.
declare const Bun: { YAML: { parse(text: string): unknown } } | undefined;

/** Parse a YAML text; a multi-document stream returns an array of documents. */
export function parseYamlDocuments(text: string): unknown[] {
  if (typeof Bun === "undefined") throw new Error("YAML parsing is only available under Bun");
  const v = Bun.YAML.parse(text);
  return text.includes("\n---") && Array.isArray(v) ? v : [v];
}
