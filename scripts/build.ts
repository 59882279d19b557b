// npm run build: a single binary (glibc), dist/airuntime. No .env/bunfig autoloading from the working directory.
//   npm run build -- <outfile>                             build elsewhere (parallel test runs)
//   npm run build -- <outfile> --target=bun-linux-arm64    cross-compile (GH200 nodes are arm64)
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};
const rest = process.argv.slice(2);
const target = rest.find((a) => a.startsWith("--target="));
const outfile = rest.find((a) => !a.startsWith("--")) ?? "dist/airuntime";
mkdirSync(dirname(outfile), { recursive: true });
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
  ...(target ? [target] : []),
  "main.ts",
  "--outfile",
  outfile,
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
