// Strict flag parsing for every subcommand, with the conventions of kubectl / hf / aws users:
// `error: unknown flag --x (did you mean --y?)` and "See 'airuntime <cmd> --help'." on stderr, exit 2.
import process from "node:process";
import { parseArgs } from "node:util";

export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** The closest known word, when it is close enough to be a typo (or `word` is a prefix of exactly one). */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  const prefixed: string[] = [];
  for (const k of known) {
    if (w.length >= 2 && k.startsWith(w)) prefixed.push(k);
    const dist = editDistance(w, k.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  if (best !== undefined && bestD <= limit) return best;
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * Parse `args` against `spec` (plus -h/--help). Throws UsageError with a one-line message for an unknown
 * flag (with a suggestion), a missing value or a value given to a boolean flag.
 */
export function parseFlags(
  args: string[],
  spec: FlagSpec,
): { values: Record<string, unknown>; positionals: string[]; help: boolean } {
  const options = { ...spec, help: { type: "boolean" as const, short: "h" } };
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    const values = r.values as Record<string, unknown>;
    const help = values.help === true;
    delete values.help;
    return { values, positionals: r.positionals, help };
  } catch (e) {
    throw new UsageError(explain(e as Error, args, Object.keys(options)));
  }
}

/** Parse flags strictly: an unknown flag prints one line (with a suggestion) and "See --help", exit 2. */
export function parseFlagsOrExit(
  args: string[],
  options: FlagSpec,
  usage: string,
  command = "airuntime",
): { values: Record<string, unknown>; positionals: string[] } | number {
  try {
    const r = parseFlags(args, options);
    if (r.help) {
      console.log(usage);
      return 0;
    }
    return r;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(usageErrorText(command, e.message));
    return 2;
  }
}

function explain(e: Error, args: string[], names: string[]): string {
  const code = (e as { code?: string }).code;
  const raw = /'(-{1,2}[^']+)'/.exec(e.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && raw) {
    const bare = raw.replace(/^-+/, "").split("=")[0]!;
    const hint = closest(bare, names);
    return `unknown flag ${raw.split("=")[0]}${hint ? ` (did you mean --${hint}?)` : ""}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && raw) {
    const name = raw.split(/[ ,]/)[0]!;
    return /argument missing/.test(e.message) ? `flag ${name} needs a value` : `flag ${name} takes no value`;
  }
  // A message from node:util without a code we know: keep it, on one line.
  return e.message.split("\n")[0]!.replace(/\. To specify.*$/, "") || `bad arguments: ${args.join(" ")}`;
}

/** The two lines a usage error prints (the caller exits 2). */
export function usageErrorText(command: string, message: string): string {
  return `error: ${message}\nSee '${command} --help'.\n`;
}
