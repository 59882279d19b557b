// Shared by the fake servers: serve an object's bytes (in memory or from a file) with Range support,
// fault injection and per-object accounting of requests and bytes actually handed to the socket.
import { open } from "node:fs/promises";
import { fileSlice } from "../helpers/files.ts";

export type Body = Uint8Array | { path: string; size: number };

export const sizeOf = (b: Body) => (b instanceof Uint8Array ? b.length : b.size);

/** Faults for one object. Counters (`times`) decrease as faults fire. */
export interface Faults {
  /** Answer the next `times` requests with `code` (e.g. 503, 500, 429 with retryAfter seconds, 403, 404). */
  status?: { code: number; times: number; retryAfter?: number };
  /** After sending `bytes` of a response, stop sending (the connection stays open) for `times` responses. */
  stall?: { bytes: number; times: number };
  /** After sending `bytes` of a response, break the connection, for `times` responses. */
  reset?: { bytes: number; times: number };
  /** Once `bytes` in total were served for this object, replace its content (new ETag). */
  change?: { bytes: number; body: Body };
  /** Answer Range requests with the whole object (200), like servers without range support. */
  ignoreRange?: boolean;
}

export interface Stats {
  requests: number;
  bytes: number;
  /** Requests that carried a Range header, and each answered range as [start, end] (inclusive). */
  ranged: number;
  ranges: Array<[number, number]>;
  /** Streamed (throttled or faulty) responses in progress now, and the most at once. */
  active: number;
  peakActive: number;
}

export interface Served {
  body: Body;
  etag: string;
  faults: Faults;
  stats: Stats;
}

export const newStats = (): Stats => ({
  requests: 0,
  bytes: 0,
  ranged: 0,
  ranges: [],
  active: 0,
  peakActive: 0,
});

/** Throttle shared by all responses of one server (bytes per second; 0 = unlimited). */
export interface Throttle {
  bytesPerSec: number;
}

const CHUNK = 256 * 1024;

export function parseRange(h: string | null, size: number): { start: number; end: number } | null | "bad" {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m) return "bad";
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return "bad";
  return { start, end };
}

/** The streaming response for a GET/HEAD of `obj`, honouring Range and the object's faults. */
const STARTED = new Date().toUTCString();

export function serveObject(
  req: Request,
  obj: Served,
  throttle: Throttle,
  extraHeaders: Record<string, string> = {},
): Response {
  const size = sizeOf(obj.body);
  const rangeHeader = obj.faults.ignoreRange ? null : req.headers.get("range");
  const r = parseRange(rangeHeader, size);
  const headers: Record<string, string> = {
    etag: obj.etag,
    "accept-ranges": obj.faults.ignoreRange ? "none" : "bytes",
    "content-type": "application/octet-stream",
    "last-modified": STARTED, // as S3 sends it (aws-cli requires it)
    ...extraHeaders,
  };
  if (r === "bad")
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
  const start = r ? r.start : 0;
  const end = r ? r.end : size - 1;
  headers["content-length"] = String(end - start + 1);
  if (r) headers["content-range"] = `bytes ${start}-${end}/${size}`;
  const status = r ? 206 : 200;
  if (req.method === "HEAD" || size === 0)
    return new Response(size === 0 && req.method !== "HEAD" ? "" : null, { status, headers });
  if (r) {
    obj.stats.ranged++;
    obj.stats.ranges.push([start, end]);
  }

  // No faults and no throttle on a file-backed object: let the runtime send the file (benchmarks).
  if (!(obj.body instanceof Uint8Array) && throttle.bytesPerSec === 0 && !armed(obj.faults)) {
    obj.stats.bytes += end - start + 1;
    return new Response(fileSlice(obj.body.path, start, end + 1), { status, headers });
  }
  const stall = arm(obj.faults.stall);
  const reset = arm(obj.faults.reset);
  const body = obj.body;
  let pos = start;
  let sent = 0;
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  const stats = obj.stats;
  stats.active++;
  stats.peakActive = Math.max(stats.peakActive, stats.active);
  let ended = false;
  const ending = () => {
    if (!ended) stats.active--;
    ended = true;
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (pos > end) {
        ending();
        await fh?.close();
        ctrl.close();
        return;
      }
      let n = Math.min(CHUNK, end + 1 - pos);
      if (stall >= 0 && sent >= stall) {
        await new Promise(() => {}); // never resolves: the client must give up
      }
      if (reset >= 0 && sent >= reset) {
        ending();
        await fh?.close();
        ctrl.error(new Error("injected connection reset"));
        return;
      }
      if (stall >= 0 && sent + n > stall) n = stall - sent;
      if (reset >= 0 && sent + n > reset) n = reset - sent;
      if (n <= 0) n = 1;
      let chunk: Uint8Array;
      if (body instanceof Uint8Array) chunk = body.slice(pos, pos + n);
      else {
        fh ??= await open(body.path, "r");
        chunk = new Uint8Array(n);
        await fh.read(chunk, 0, n, pos);
      }
      if (throttle.bytesPerSec > 0)
        await new Promise((res) => setTimeout(res, (n / throttle.bytesPerSec) * 1000));
      pos += n;
      sent += n;
      obj.stats.bytes += n;
      ctrl.enqueue(chunk);
    },
    async cancel() {
      ending();
      await fh?.close();
    },
  });
  return new Response(stream, { status, headers });
}

const armed = (f: Faults) => (f.stall?.times ?? 0) > 0 || (f.reset?.times ?? 0) > 0 || f.change !== undefined;

/** Consume one firing of a byte-offset fault: its offset, or -1 when not armed. */
function arm(f: { bytes: number; times: number } | undefined): number {
  if (!f || f.times <= 0) return -1;
  f.times--;
  return f.bytes;
}

/** Consume one status fault, if armed. */
export function statusFault(obj: Served): Response | null {
  const f = obj.faults.status;
  if (!f || f.times <= 0) return null;
  f.times--;
  const headers: Record<string, string> = {};
  if (f.retryAfter !== undefined) headers["retry-after"] = String(f.retryAfter);
  return new Response(`injected HTTP ${f.code}`, { status: f.code, headers });
}
