// A private squid (Debian package `squid`) as a forward proxy for tests and bench/download.ts: its own config,
// logs and pid in a temp dir, a free 127.0.0.1 port, no cache (every request goes to the origin, as a
// pass-through proxy or a cache miss does), access log in squid's native format.
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

export interface Squid {
  url: string;
  /** Lines of the access log so far (one per finished request: "... TCP_MISS/206 <bytes> GET <url> ..."). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });

/** Start squid (`bin`: its path, e.g. tool("squid").path) and wait until it accepts connections. */
export async function startSquid(bin: string): Promise<Squid> {
  const dir = await mkdtemp(join(tmpdir(), "airuntime-squid-"));
  await chmod(dir, 0o777); // run as root, squid writes its logs as its effective user (proxy)
  const port = await freePort();
  const log = join(dir, "access.log");
  await writeFile(
    join(dir, "squid.conf"),
    `http_port 127.0.0.1:${port}
http_access allow localhost
http_access deny all
cache deny all
access_log stdio:${log}
cache_log ${join(dir, "cache.log")}
pid_filename ${join(dir, "squid.pid")}
coredump_dir ${dir}
cache_store_log none
pinger_enable off
logfile_rotate 0
shutdown_lifetime 0 seconds
`,
  );
  const p = spawn(bin, ["-N", "-f", join(dir, "squid.conf")], { stdio: "ignore" });
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  let dead = false;
  void exited.then(() => (dead = true));
  for (let i = 0; !(await listening(port)); i++) {
    if (dead || i > 400) {
      p.kill("SIGKILL");
      const why = await readFile(join(dir, "cache.log"), "utf8").catch(() => "");
      throw new Error(`squid did not start: ${why.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async accessLog() {
      const text = await readFile(log, "utf8").catch(() => "");
      return text.split("\n").filter(Boolean);
    },
    async stop() {
      p.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
