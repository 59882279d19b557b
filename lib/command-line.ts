// A command line given as text: a JSON array of strings, or whitespace-separated words. Used for engine
// command templates and the KV limit command (config.ts validates them, lifecycle/ expands them).

export function parseTemplate(t: string): string[] {
  const s = t.trim();
  if (s.startsWith("[")) {
    const arr = JSON.parse(s) as unknown;
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === "string") || arr.length === 0)
      throw new Error("engine command template: expected a non-empty JSON array of strings");
    return arr as string[];
  }
  return s.split(/\s+/).filter(Boolean);
}
