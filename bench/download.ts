// Download benchmark: one large file (default 2 GiB of random bytes) over loopback, interleaved rounds of:
//   airuntime  the compiled binary's `download hf://bench/big` (parallel ranged GETs, SHA-256 on), with the
//              default fsync before publish and with AIRUNTIME_DOWNLOAD_FSYNC=0
//   curl       curl -sS -o (single stream)
//   naive      fetch + write each chunk (single stream, what a quick script does), and the same hashing
//              each chunk with SHA-256 (what verifying costs one stream; not one of the issue's baselines)
//   ceiling    fetch + Bun.write of the whole body (single stream, the runtime's fastest write), and the
//              same followed by fdatasync (airuntime fsyncs before publishing; the disk bounds both)
// and prints MiB/s, max RSS of airuntime, the ratios to each baseline and which of the issue's bars are met.
//
// Serving (--serve nginx, the default when nginx is installed): nginx with sendfile serves the bytes, as a
// CDN would; the fake HF hub answers the API (revision, tree with the LFS SHA-256) and redirects the LFS
// download to nginx, so airuntime verifies SHA-256 as in a real HF download; every baseline fetches the
// nginx URL directly. --serve bun (the fallback without nginx): the fake hub, a Bun process, serves the bytes
// too, and the baselines follow its redirect.
//
//   bun run bench/download.ts [--size-mib 2048] [--rounds 2] [--bin /tmp/x/airuntime] [--serve nginx|bun]
//        [--threads 16] [--part-mib 16] [--sweep]   (--sweep tries several threads x part sizes)
//        [--rate-mib 90]   (nginx caps each connection at 90 MiB/s, like an object store; nginx only)
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureSource, median, run } from "./download-lib.ts";
import { findNginx, type Nginx, startNginx } from "./download-nginx.ts";

const { values: opt } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "2048" },
    rounds: { type: "string", default: "2" },
    bin: { type: "string", default: process.env.AIRUNTIME_BIN ?? "dist/airuntime" },
    threads: { type: "string", default: "" },
    "part-mib": { type: "string", default: "" },
    sweep: { type: "boolean", default: false },
    dir: { type: "string", default: "/tmp/airuntime-bench" },
    serve: { type: "string", default: "" },
    "rate-mib": { type: "string", default: "0" },
  },
});
const MiB = 1024 * 1024;
const size = Number(opt["size-mib"]) * MiB;
const rounds = Number(opt.rounds);
const bin = resolve(opt.bin!);
const dir = opt.dir!;
const bun = process.execPath;

/** The fake hub (API + redirect) and, when nginx is used, nginx serving the bytes.
 * `hub` is HF_ENDPOINT; `bytes` is the URL the baselines fetch (nginx's, or the hub's resolve URL). */
async function startServer(
  file: string,
  serve: string,
): Promise<{ hub: string; bytes: string; mode: string; stop(): Promise<void> }> {
  let nginx: Nginx | null = null;
  if (serve === "nginx") {
    nginx = await startNginx(file, Number(opt["rate-mib"]));
    if (!nginx) throw new Error("--serve nginx: nginx not found (apt-get install -y nginx-light)");
  }
  const args = ["bench/download-server.ts", file, ...(nginx ? [nginx.base] : [])];
  const p = spawn(bun, args, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((r) => p.stdout.once("data", (d) => r(String(d))));
  const { url, cdn } = JSON.parse(line);
  return {
    hub: url,
    bytes: nginx?.url ?? cdn,
    mode: nginx
      ? `nginx 1 worker, sendfile${Number(opt["rate-mib"]) > 0 ? `, each connection capped at ${opt["rate-mib"]} MiB/s` : ""} (fake HF hub: API + redirect)`
      : "the fake HF hub (Bun)",
    async stop() {
      p.kill();
      await nginx?.stop();
    },
  };
}

const mibs = (ms: number) => size / MiB / (ms / 1000);

async function main() {
  await mkdir(dir, { recursive: true });
  const src = join(dir, `source-${size / MiB}MiB.bin`);
  await ensureSource(src, size);
  const serve = opt.serve || ((await findNginx()) ? "nginx" : "bun");
  if (serve !== "nginx" && serve !== "bun") throw new Error(`--serve: nginx or bun, not ${serve}`);
  const server = await startServer(src, serve);
  const load0 = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const outDir = join(dir, "out");
  const results: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {}; // CPU-s per GiB of each case's process
  const addCpu = (k: string, cpuS: number) => {
    cpu[k] ??= [];
    cpu[k].push(cpuS / (size / 1024 / MiB));
  };
  const rss: number[] = [];
  const add = (k: string, v: number) => {
    results[k] ??= [];
    results[k].push(v);
  };
  /** One single-stream baseline: time the command, record its MiB/s, delete the file it wrote to outDir. */
  const baseline = async (label: string, cmd: string, args: string[], file: string) => {
    const r = await run(cmd, args);
    if (r.code !== 0) throw new Error(`${label} failed: ${r.out}`);
    add(label, mibs(r.ms));
    addCpu(label, r.cpuS);
    await rm(join(outDir, file));
  };
  const threads: Record<string, string> = opt.threads ? { DOWNLOADER_NUM_THREADS: opt.threads } : {};
  const part: Record<string, string> = opt["part-mib"]
    ? { DOWNLOADER_PART_CHUNKSIZE: `${opt["part-mib"]}MiB` }
    : {};
  const variants: Array<{ label: string; env: Record<string, string> }> = opt.sweep
    ? [4, 8, 16, 32].flatMap((t) =>
        [8, 16, 32].map((p) => ({
          label: `airuntime t=${t} p=${p}MiB`,
          env: { DOWNLOADER_NUM_THREADS: String(t), DOWNLOADER_PART_CHUNKSIZE: `${p}MiB` },
        })),
      )
    : [
        { label: "airuntime", env: { ...threads, ...part } },
        { label: "airuntime FSYNC=0", env: { ...threads, ...part, AIRUNTIME_DOWNLOAD_FSYNC: "0" } },
      ];

  try {
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        await rm(outDir, { recursive: true, force: true });
        const label = v.label;
        const env: Record<string, string> = { HF_ENDPOINT: server.hub, LOG_LEVEL: "warn", ...v.env };
        const a = await run(bin, ["download", "hf://bench/big", "--local-dir", outDir], env);
        if (a.code !== 0) throw new Error(`airuntime failed: ${a.out}`);
        add(label, mibs(a.ms));
        addCpu(label, a.cpuS);
        rss.push(a.maxRssMiB);
      }
      await rm(outDir, { recursive: true, force: true });
      await mkdir(outDir, { recursive: true });
      await baseline(
        "curl (1 stream)",
        "curl",
        ["-sSL", "-o", join(outDir, "curl.bin"), server.bytes],
        "curl.bin",
      );
      for (const [label, mode, file] of [
        ["naive fetch (1 stream)", "naive", "naive.bin"],
        ["naive fetch + SHA-256 (1 stream)", "naive-sha256", "naive.bin"],
        ["ceiling Bun.write (1 stream)", "ceiling", "ceiling.bin"],
        ["ceiling Bun.write + fdatasync", "ceiling-sync", "ceiling.bin"],
      ] as const)
        await baseline(label, bun, ["bench/download-naive.ts", mode, server.bytes, join(outDir, file)], file);
    }
  } finally {
    await server.stop();
    await rm(outDir, { recursive: true, force: true });
  }
  /** Per-round ratios a/b (each round's cases ran back to back, so these move less with the load). */
  const perRound = (a: string, b: string) =>
    results[a]!.map((x, i) => (x / results[b]![i]!).toFixed(2)).join(", ");
  const med = (k: string) => median(results[k]!);
  const curl = med("curl (1 stream)");
  const ceiling = med("ceiling Bun.write (1 stream)");
  const durable = med("ceiling Bun.write + fdatasync");
  console.log(
    `\n${size / MiB} MiB over loopback from ${server.mode}, ${rounds} interleaved rounds (MiB/s, median of rounds; wall time incl. process start, SHA-256 on for airuntime)`,
  );
  console.log(
    `  load average: ${load0} at start, ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} at end`,
  );
  for (const k of Object.keys(results))
    console.log(
      `  ${k.padEnd(32)} ${med(k).toFixed(0).padStart(6)} MiB/s  (rounds: ${results[k]!.map((x) => x.toFixed(0)).join(", ")})  CPU-s/GiB ${median(cpu[k]!).toFixed(2)} (process only)`,
    );
  console.log(`  airuntime max RSS: ${Math.max(...rss)} MiB`);
  const yes = (ok: boolean) => (ok ? "met" : "NOT met");
  for (const v of variants) {
    const air = med(v.label);
    const noFsync = v.env.AIRUNTIME_DOWNLOAD_FSYNC === "0";
    // The fair ceiling pays what airuntime pays: no fsync against Bun.write, fsync against Bun.write + fdatasync.
    const fair = noFsync ? ceiling : durable;
    const fairName = noFsync ? "ceiling (no fsync)" : "durable ceiling (+ fdatasync)";
    const fairKey = noFsync ? "ceiling Bun.write (1 stream)" : "ceiling Bun.write + fdatasync";
    console.log(`  ${v.label}:`);
    console.log(
      `    / curl ${(air / curl).toFixed(2)}x, / naive ${(air / med("naive fetch (1 stream)")).toFixed(2)}x, / naive+SHA-256 ${(air / med("naive fetch + SHA-256 (1 stream)")).toFixed(2)}x, / ceiling ${(air / ceiling).toFixed(2)}x, / durable ceiling ${(air / durable).toFixed(2)}x`,
    );
    console.log(
      `    bars: >= 1.5x curl ${yes(air >= 1.5 * curl)}; within 20 % of the ${fairName} ${yes(air >= 0.8 * fair)} (${(air / fair).toFixed(2)}x); ` +
        `within 20 % of the no-fsync ceiling ${yes(air >= 0.8 * ceiling)}; >= 400 MiB/s with SHA-256 ${yes(air >= 400)}`,
    );
    console.log(
      `    per round: / curl ${perRound(v.label, "curl (1 stream)")}; / ${fairName} ${perRound(v.label, fairKey)}`,
    );
  }
}

await main();
