// npm run build: one static binary, dist/airuntime. No .env/bunfig autoloading from the working directory.
import { spawnSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};
mkdirSync("dist", { recursive: true });
const args = [
  "build",
  "--compile",
  "--minify",
  "--sourcemap",
  "--bytecode",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  `--define`,
  `AIRUNTIME_VERSION=${JSON.stringify(pkg.version)}`,
  "main.ts",
  "--outfile",
  // npm run build -- /tmp/x/airuntime builds elsewhere (parallel test runs must not overwrite each other).
  process.argv[2] ?? "dist/airuntime",
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
