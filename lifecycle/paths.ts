import { resolve, sep } from "node:path";

/** `<root>/<name>` only when it stays inside root (model names come from requests). */
export function safeJoin(root: string, name: string): string | null {
  if (!name || name.includes("\0")) return null;
  const base = resolve(root);
  const p = resolve(base, name);
  return p.startsWith(base + sep) ? p : null;
}
