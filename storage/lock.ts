// Cross-process lock on a shared volume: an O_EXCL lock file holding {pid, host}, kept fresh by a
// heartbeat (mtime). A lock whose process is gone (same host) or whose heartbeat is older than staleMs
// (any host) is taken over. flock(2) is not used: it is unreliable on NFS/Lustre and absent from web APIs.
import { pidAlive } from "../lib/pid.ts";
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { DownloadError } from "./errors.ts";

export interface LockOptions {
  staleMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** Called about every 10 s while waiting, with the holder's pid/host. */
  onWait?: (holder: LockInfo | null, waitedMs: number) => void;
}

export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}

const HOST = hostname();

export async function readLock(path: string): Promise<{ info: LockInfo | null; ageMs: number } | null> {
  try {
    const [s, text] = await Promise.all([stat(path), readFile(path, "utf8")]);
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      // being written right now
    }
    return { info, ageMs: Date.now() - s.mtimeMs };
  } catch {
    return null;
  }
}

/** True when the lock file exists and its holder looks alive. */
export async function isLockHeld(path: string, staleMs = 30_000): Promise<boolean> {
  const l = await readLock(path);
  if (!l) return false;
  if (l.info && l.info.host === HOST && l.info.pid !== process.pid && !pidAlive(l.info.pid)) return false;
  return l.ageMs < staleMs;
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const staleMs = opts.staleMs ?? 30_000;
  const pollMs = opts.pollMs ?? 100;
  const token = randomBytes(8).toString("hex");
  const started = Date.now();
  let lastNotice = started;
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    if (opts.signal?.aborted)
      throw new DownloadError("cancelled", "cancelled while waiting for the download lock");
    try {
      const fh = await open(path, "wx");
      const info: LockInfo = { pid: process.pid, host: HOST, token, since: new Date().toISOString() };
      await fh.writeFile(JSON.stringify(info));
      await fh.close();
      return holding(path, token, staleMs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const cur = await readLock(path);
    if (cur) {
      const dead = cur.info && cur.info.host === HOST && !pidAlive(cur.info.pid);
      if (dead || cur.ageMs > staleMs) {
        // Take over: move the stale file aside (atomic; only one contender wins), then retry the create.
        await rename(path, `${path}.stale-${token}`).then(
          () => rm(`${path}.stale-${token}`, { force: true }),
          () => {},
        );
        continue;
      }
      if (opts.onWait && Date.now() - lastNotice >= 10_000) {
        lastNotice = Date.now();
        opts.onWait(cur.info, lastNotice - started);
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function holding(path: string, token: string, staleMs: number): Lock {
  const beat = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    },
    Math.max(50, Math.floor(staleMs / 4)),
  );
  (beat as { unref?: () => void }).unref?.();
  return {
    async release() {
      clearInterval(beat);
      const cur = await readLock(path);
      if (cur?.info?.token === token) await rm(path, { force: true });
    },
  };
}
