// Set at build time by scripts/build.ts (--define); falls back for `bun run`/`deno run` from source.
declare const AIRUNTIME_VERSION: string | undefined;
export const VERSION: string = typeof AIRUNTIME_VERSION === "string" ? AIRUNTIME_VERSION : "0.1.0-dev";
