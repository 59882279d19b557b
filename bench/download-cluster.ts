// Download bench at cluster scale (issue 15): one file (default 1 GiB of random bytes) fetched by airuntime
// and by its peers in the same run, cases interleaved round by round, each a fresh process, `sync` before each:
//   capped    every connection capped at --cap-mib MiB/s (16) by bench/download-capped.ts, a token bucket per
//             TCP connection (why not nginx limit_rate: see that file): airuntime defaults, airuntime with a
//             fixed 32 connections (the ramp's cost), rclone --multi-thread-streams 32, curl (1 stream, the
//             first 256 MiB: at the cap it is exactly the cap)
//   loopback  nginx with sendfile, unthrottled: airuntime over http:// (no hash, as rclone; with the default
//             fsync before publishing and without, as rclone and curl do not fsync) and over hf://
//             (the fake hub redirects to nginx; SHA-256 verified), rclone 8 streams, curl, and the ceilings:
//             curl to /dev/null (receive only) and one Bun.write stream (receive + write)
//   squid     the same nginx through squid (no cache): airuntime with HTTP_PROXY (fsync on / off), curl -x
//   s3        the fake S3 (tests/fakes/s3.ts, SigV4 checked, sendfile): airuntime s3:// (MD5 verified), aws s3 cp
//             (/usr/bin/aws, awscli), rclone :s3: 8 streams
// For each: MiB/s (median of rounds), CPU-s per GiB of the process (utime + stime from /proc; servers not
// counted), max RSS. Ratios are taken per round (the cases of a round ran back to back).
//
//   bun run bench/download-cluster.ts --bin /tmp/x/airuntime [--rounds 3] [--size-mib 1024] [--cap-mib 16]
//        [--ttfb-ms 0] [--only capped,loopback,squid,s3] [--base-bin <an older build>]
// --base-bin adds that build's defaults (capped) and http:// defaults (loopback) to every round, labelled
// "(base)", so a change is compared with the code before it under the same load.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startSquid } from "../tests/helpers/squid.ts";
import { findTool } from "../tests/helpers/tools.ts";
import { ensureSource, median, run } from "./download-lib.ts";
import { startNginx } from "./download-nginx.ts";

const { values: opt } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    rounds: { type: "string", default: "3" },
    bin: { type: "string", default: process.env.AIRUNTIME_BIN ?? "dist/airuntime" },
    dir: { type: "string", default: "/tmp/airuntime-bench" },
    "cap-mib": { type: "string", default: "16" },
    "ttfb-ms": { type: "string", default: "0" },
    only: { type: "string", default: "capped,loopback,squid,s3" },
    "base-bin": { type: "string" },
  },
});
const MiB = 1024 * 1024;
const size = Number(opt["size-mib"]) * MiB;
const bin = resolve(opt.bin!);
const baseBin = opt["base-bin"] ? resolve(opt["base-bin"]) : null;
const dir = opt.dir!;
const out = join(dir, "out");
const groups = new Set(opt.only!.split(","));
const bun = process.execPath;
const AWS = "/usr/bin/aws"; // the Debian package (an `aws` on PATH may be a pyenv shim)

interface Case {
  group: string;
  label: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  /** Bytes the case fetches (curl on the capped server fetches a prefix). */
  bytes?: number;
}

/** Start a child that prints one JSON line once listening. */
async function child(args: string[]): Promise<{ info: Record<string, string>; stop(): void }> {
  const p = spawn(bun, args, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((r) => p.stdout.once("data", (d) => r(String(d))));
  return { info: JSON.parse(line), stop: () => p.kill() };
}

async function main() {
  await mkdir(dir, { recursive: true });
  const src = join(dir, `source-${size / MiB}MiB.bin`);
  await ensureSource(src, size);
  const name = `source-${size / MiB}MiB.bin`;
  const stops: Array<() => unknown> = [];
  const cases: Case[] = [];
  const rclone = findTool("rclone");
  const air = (group: string, label: string, uri: string, env: Record<string, string> = {}): Case => ({
    group,
    label,
    cmd: bin,
    args: ["download", uri, "--local-dir", out],
    env: { LOG_LEVEL: "warn", ...env },
  });
  const rcloneHttp = (group: string, streams: number, base: string): Case => ({
    group,
    label: `rclone http ${streams} streams`,
    cmd: rclone!,
    args: [
      "copyto",
      `:http:${name}`,
      join(out, "rclone.bin"),
      "--http-url",
      `${base}/`,
      "--multi-thread-streams",
      String(streams),
      "--multi-thread-cutoff",
      "1M",
      "--config",
      "/dev/null",
    ],
  });
  try {
    if (groups.has("capped")) {
      const capped = await child(["bench/download-capped.ts", src, opt["cap-mib"]!, opt["ttfb-ms"]!]);
      stops.push(capped.stop);
      const { url, base } = capped.info as { url: string; base: string };
      cases.push(air("capped", "airuntime defaults", url));
      if (baseBin) cases.push({ ...air("capped", "airuntime defaults (base)", url), cmd: baseBin });
      cases.push(
        air("capped", "airuntime fixed 32", url, {
          DOWNLOADER_NUM_THREADS: "32",
          AIRUNTIME_DOWNLOAD_START_CONNECTIONS: "32",
        }),
      );
      cases.push(
        air("capped", "airuntime fixed 64", url, {
          DOWNLOADER_NUM_THREADS: "64",
          AIRUNTIME_DOWNLOAD_START_CONNECTIONS: "64",
        }),
      );
      if (rclone) cases.push(rcloneHttp("capped", 32, base));
      const prefix = Math.min(size, 256 * MiB);
      cases.push({
        group: "capped",
        label: "curl (1 stream, 256 MiB)",
        cmd: "curl",
        args: ["-sS", "-o", join(out, "curl.bin"), "-r", `0-${prefix - 1}`, url],
        bytes: prefix,
      });
    }
    if (groups.has("loopback") || groups.has("squid")) {
      const nginx = await startNginx(src);
      if (!nginx) throw new Error("nginx is not installed (Debian package nginx)");
      stops.push(nginx.stop);
      if (groups.has("loopback")) {
        const hub = await child(["bench/download-server.ts", src, nginx.base]);
        stops.push(hub.stop);
        cases.push(air("loopback", "airuntime http:// defaults", nginx.url));
        if (baseBin)
          cases.push({ ...air("loopback", "airuntime http:// defaults (base)", nginx.url), cmd: baseBin });
        cases.push(
          air("loopback", "airuntime http:// FSYNC=0", nginx.url, { AIRUNTIME_DOWNLOAD_FSYNC: "0" }),
        );
        cases.push(
          air("loopback", "airuntime hf:// SHA-256", "hf://bench/big", { HF_ENDPOINT: hub.info.url! }),
        );
        if (rclone) cases.push(rcloneHttp("loopback", 8, nginx.base));
        cases.push({
          group: "loopback",
          label: "curl",
          cmd: "curl",
          args: ["-sS", "-o", join(out, "c.bin"), nginx.url],
        });
        cases.push({
          group: "loopback",
          label: "ceiling: curl to /dev/null",
          cmd: "curl",
          args: ["-sS", "-o", "/dev/null", nginx.url],
        });
        cases.push({
          group: "loopback",
          label: "ceiling: Bun.write (1 stream)",
          cmd: bun,
          args: ["bench/download-naive.ts", "ceiling", nginx.url, join(out, "b.bin")],
        });
      }
      const squidBin = findTool("squid");
      if (groups.has("squid") && squidBin) {
        const squid = await startSquid(squidBin);
        stops.push(squid.stop);
        const proxied = { HTTP_PROXY: squid.url, NO_PROXY: "" };
        cases.push(air("squid", "airuntime via squid", nginx.url, proxied));
        cases.push(
          air("squid", "airuntime via squid FSYNC=0", nginx.url, {
            ...proxied,
            AIRUNTIME_DOWNLOAD_FSYNC: "0",
          }),
        );
        cases.push({
          group: "squid",
          label: "curl via squid",
          cmd: "curl",
          args: ["-sS", "-x", squid.url, "-o", join(out, "c.bin"), nginx.url],
        });
      }
    }
    if (groups.has("s3")) {
      const s3 = await child(["bench/download-s3.ts", src]);
      stops.push(s3.stop);
      const { url, key } = s3.info as { url: string; key: string };
      const creds = {
        AWS_ACCESS_KEY_ID: "AKIDBENCH",
        AWS_SECRET_ACCESS_KEY: "bench-secret-key",
        AWS_DEFAULT_REGION: "us-east-1",
      };
      cases.push(air("s3", "airuntime s3:// (MD5)", "s3://bkt/big", { ...creds, AWS_ENDPOINT_URL: url }));
      cases.push({
        group: "s3",
        label: "aws s3 cp",
        cmd: AWS,
        args: [
          "s3",
          "cp",
          `s3://bkt/${key}`,
          join(out, "a.bin"),
          "--endpoint-url",
          url,
          "--no-progress",
          "--no-sign-request",
        ],
        env: creds,
      });
      if (rclone)
        cases.push({
          group: "s3",
          label: "rclone s3 8 streams",
          cmd: rclone,
          // rclone's S3 client cannot load a custom CA bundle over its own transport; the endpoint is http.
          env: { AWS_CA_BUNDLE: "" },
          args: [
            "copyto",
            `:s3:bkt/${key}`,
            join(out, "r.bin"),
            "--s3-provider",
            "Other",
            "--s3-endpoint",
            url,
            "--s3-access-key-id",
            creds.AWS_ACCESS_KEY_ID,
            "--s3-secret-access-key",
            creds.AWS_SECRET_ACCESS_KEY,
            "--s3-force-path-style",
            "--multi-thread-streams",
            "8",
            "--multi-thread-cutoff",
            "1M",
            "--config",
            "/dev/null",
          ],
        });
    }

    const load0 = loadavg().map((l) => l.toFixed(2));
    const rate: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const rss: Record<string, number> = {};
    const rounds = Number(opt.rounds);
    const failed = new Set<string>();
    const report = (done: number) => {
      console.log(
        `\n${size / MiB} MiB, ${done} interleaved rounds; load average ${load0.join(" ")} at start, ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")} at end; per-connection cap ${opt["cap-mib"]} MiB/s, first byte +${opt["ttfb-ms"]} ms`,
      );
      console.log("| group | case | MiB/s (median) | rounds | CPU-s/GiB | max RSS MiB |");
      console.log("|---|---|---|---|---|---|");
      for (const c of cases.filter((x) => rate[x.label]))
        console.log(
          `| ${c.group} | ${c.label} | **${median(rate[c.label]!).toFixed(0)}** | ${rate[c.label]!.map((x) => x.toFixed(0)).join(", ")} | ${median(cpu[c.label]!).toFixed(2)} | ${rss[c.label]} |`,
        );
      const ratio = (a: string, b: string) => {
        if (!rate[a] || !rate[b]) return;
        const per = rate[a].map((x, i) => x / rate[b]![i]!);
        console.log(
          `- ${a} / ${b}: median ${median(per).toFixed(2)}x (rounds ${per.map((x) => x.toFixed(2)).join(", ")})`,
        );
      };
      ratio("airuntime defaults", "rclone http 32 streams");
      ratio("airuntime defaults", "airuntime fixed 32");
      ratio("airuntime defaults", "airuntime fixed 64");
      ratio("airuntime defaults (base)", "rclone http 32 streams");
      ratio("airuntime defaults", "airuntime defaults (base)");
      ratio("airuntime http:// defaults", "airuntime http:// defaults (base)");
      ratio("airuntime http:// defaults", "rclone http 8 streams");
      ratio("airuntime http:// defaults (base)", "rclone http 8 streams");
      ratio("airuntime hf:// SHA-256", "rclone http 8 streams");
      ratio("airuntime http:// FSYNC=0", "rclone http 8 streams");
      ratio("airuntime http:// defaults", "curl");
      ratio("airuntime via squid", "curl via squid");
      ratio("airuntime via squid FSYNC=0", "curl via squid");
      ratio("airuntime s3:// (MD5)", "aws s3 cp");
      ratio("airuntime s3:// (MD5)", "rclone s3 8 streams");
      console.log(
        `- max RSS of airuntime in every case: ${Math.max(...cases.filter((c) => c.cmd === bin && rss[c.label]).map((c) => rss[c.label]!))} MiB`,
      );
    };
    for (let r = 0; r < rounds; r++) {
      for (const c of cases) {
        await rm(out, { recursive: true, force: true });
        await mkdir(out, { recursive: true });
        if (failed.has(c.label)) continue;
        const res = await run(c.cmd, c.args, c.env);
        if (res.code !== 0) {
          failed.add(c.label);
          console.error(`${c.label} failed (exit ${res.code}), dropped: ${res.out.slice(-1000)}`);
          continue;
        }
        const bytes = c.bytes ?? size;
        rate[c.label] = [...(rate[c.label] ?? []), bytes / MiB / (res.ms / 1000)];
        cpu[c.label] = [...(cpu[c.label] ?? []), res.cpuS / (bytes / 1024 / MiB)];
        rss[c.label] = Math.max(rss[c.label] ?? 0, res.maxRssMiB);
        console.error(
          `round ${r + 1} ${c.label}: ${(bytes / MiB / (res.ms / 1000)).toFixed(0)} MiB/s, ${res.maxRssMiB} MiB`,
        );
      }
      report(r + 1);
    }
    await rm(out, { recursive: true, force: true });
  } finally {
    for (const s of stops.reverse()) await s();
  }
}

await main();
