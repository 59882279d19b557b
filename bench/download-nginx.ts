// nginx for bench/download.ts: serves one file's bytes with sendfile from a private config in a temp dir
// (daemon off, 1 worker, access log off, a free 127.0.0.1 port, pid/temp/error paths in the temp dir),
// as a real CDN would; every /cdn/<anything> answers with that file. Returns null when nginx is absent.
import { spawn } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";

export interface Nginx {
  /** URL of the file (http://127.0.0.1:<port>/cdn/<name>); `base` + "/<anything>" serves it too. */
  url: string;
  base: string;
  stop(): Promise<void>;
}

export async function findNginx(): Promise<string | null> {
  for (const p of ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"])
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function config(tmp: string, file: string, port: number, rateMiB: number): string {
  const root = process.getuid?.() === 0 ? "user root root;\n" : "";
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${join(tmp, t)};`)
    .join("\n");
  return `${root}daemon off;
master_process on;
worker_processes 1;
pid ${join(tmp, "nginx.pid")};
error_log ${join(tmp, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
${rateMiB > 0 ? `  limit_rate ${rateMiB}m;\n` : ""}  default_type application/octet-stream;
${temps}
  server {
    listen 127.0.0.1:${port};
    location /cdn/ { root ${dirname(file)}; rewrite ^ /${basename(file)} break; }
  }
}
`;
}

/** `rateMiB` > 0 caps every connection (nginx limit_rate), as object stores and CDNs do (~90 MB/s per
 *  connection on S3), so parallel connections are measured where they matter. */
export async function startNginx(fileArg: string, rateMiB = 0): Promise<Nginx | null> {
  const nginx = await findNginx();
  if (!nginx) return null;
  const file = resolve(fileArg);
  const tmp = await mkdtemp(join(tmpdir(), "dlbench-nginx-"));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(tmp, "nginx.conf");
    await writeFile(conf, config(tmp, file, port, rateMiB));
    const p = spawn(nginx, ["-p", tmp, "-e", join(tmp, "error.log"), "-c", conf], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    let dead = false;
    void exited.then(() => (dead = true));
    const base = `http://127.0.0.1:${port}/cdn`;
    const url = `${base}/${basename(file)}`;
    // Wait until it answers (or exits, e.g. the port was taken in between: try another).
    for (let i = 0; i < 200 && !dead; i++) {
      const ok = await fetch(url, { method: "HEAD" }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok)
        return {
          url,
          base,
          async stop() {
            p.kill("SIGTERM");
            await exited;
            await rm(tmp, { recursive: true, force: true });
          },
        };
      await new Promise((r) => setTimeout(r, 25));
    }
    p.kill("SIGKILL");
    await exited;
    console.error(`nginx did not start on port ${port}: ${err.trim()}`);
  }
  await rm(tmp, { recursive: true, force: true });
  throw new Error("nginx did not start (see above); run with --serve bun to use the Bun-served fallback");
}
