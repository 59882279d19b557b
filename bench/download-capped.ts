// A file server that caps every TCP connection at a fixed rate, as object stores and CDNs cap each connection
// (S3: ~90 MB/s). Child process of bench/download.ts:
//   bun bench/download-capped.ts <file> <MiB/s per connection> [first-byte ms]
// prints {"base": "http://127.0.0.1:<port>/cdn"} once listening; every GET/HEAD of <base>/<name> answers with
// the file (Range: bytes=a-b honoured, keep-alive), a GET of <base>/ lists it (for rclone's http backend),
// GET /_requests answers {"requests": <file requests so far>, "peak": <most at once>} (for tests). Responses
// always carry Content-Length, as object stores send it.
//
// Why not nginx `limit_rate`: nginx allows `rate x (seconds since the request began + 1)` bytes, i.e. every
// request starts with a one-second burst (and `limit_rate_after` only moves where counting starts), so ranged
// GETs shorter than `rate` bytes are not limited at all and a client making many short requests looks far
// faster than it would be against S3. Here the limit is a token bucket per connection: tokens accrue at the
// rate for the whole life of the connection, shared by every request on it, with a bucket of 128 KiB (8 ms at
// 16 MiB/s), so neither a new request nor a pause between requests buys a burst. A new connection starts at
// the full rate at once (no TCP slow start on loopback), which if anything favours many short connections
// less than a real WAN would penalise them. The optional first-byte delay models an object store's time to
// first byte (S3: tens of ms) for every request.
import { openSync, readSync, statSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { basename } from "node:path";

const [path, rateArg, ttfbArg] = process.argv.slice(2);
if (!path || !rateArg)
  throw new Error("usage: download-capped.ts <file> <MiB/s per connection> [first-byte ms]");
const rate = Number(rateArg) * 1024 * 1024; // bytes per second per connection
const ttfbMs = Number(ttfbArg ?? 0);
const size = statSync(path).size;
const fd = openSync(path, "r");
const name = basename(path);
const CHUNK = 64 * 1024;
const BUCKET = 2 * CHUNK; // room for timer overshoot, so the average rate is the cap
const etag = `"${size.toString(16)}-bench"`;
let requests = 0;
let active = 0;
let peak = 0;
const lastModified = new Date(statSync(path).mtimeMs).toUTCString();

function serve(sock: Socket): void {
  let tokens = BUCKET;
  let last = performance.now();
  let head = "";
  let busy = false;
  const queue: string[] = [];
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(BUCKET, tokens + ((now - last) / 1000) * rate);
    last = now;
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const drained = () => new Promise((r) => sock.once("drain", r));

  async function answer(req: string): Promise<void> {
    const [line, ...headers] = req.split("\r\n");
    const [method, target] = (line ?? "").split(" ");
    const h = new Map(
      headers.map((x) => [x.slice(0, x.indexOf(":")).toLowerCase(), x.slice(x.indexOf(":") + 1).trim()]),
    );
    const p = new URL(target ?? "/", "http://x").pathname;
    if (p === "/_requests") {
      const json = JSON.stringify({ requests, peak });
      sock.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n${json}`,
      );
      return;
    }
    if (ttfbMs > 0) await wait(ttfbMs);
    if (p.endsWith("/")) {
      const html = `<html><body><a href="${name}">${name}</a></body></html>`;
      sock.write(
        `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${html.length}\r\n\r\n${method === "HEAD" ? "" : html}`,
      );
      return;
    }
    let start = 0;
    let end = size; // exclusive
    let status = "200 OK";
    const m = /^bytes=(\d*)-(\d*)$/.exec(h.get("range") ?? "");
    if (m) {
      start = m[1] ? Number(m[1]) : size - Number(m[2]);
      end = m[1] && m[2] ? Math.min(size, Number(m[2]) + 1) : size;
      if (start >= size || start >= end) {
        sock.write(
          `HTTP/1.1 416 Range Not Satisfiable\r\ncontent-range: bytes */${size}\r\ncontent-length: 0\r\n\r\n`,
        );
        return;
      }
      status = "206 Partial Content";
    }
    sock.write(
      `HTTP/1.1 ${status}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${end - start}\r\naccept-ranges: bytes\r\netag: ${etag}\r\nlast-modified: ${lastModified}\r\n${m ? `content-range: bytes ${start}-${end - 1}/${size}\r\n` : ""}\r\n`,
    );
    if (method === "HEAD") return;
    requests++;
    active++;
    peak = Math.max(peak, active);
    try {
      await send(start, end);
    } finally {
      active--;
    }
  }

  async function send(start: number, end: number): Promise<void> {
    for (let pos = start; pos < end && !sock.destroyed; ) {
      refill();
      const n = Math.min(CHUNK, end - pos);
      if (tokens < n) {
        await wait(((n - tokens) / rate) * 1000);
        continue;
      }
      tokens -= n;
      const buf = Buffer.allocUnsafe(n);
      readSync(fd, buf, 0, n, pos);
      pos += n;
      if (!sock.write(buf)) await drained();
    }
  }

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !sock.destroyed) await answer(queue.shift()!);
    busy = false;
  }

  sock.on("data", (d) => {
    head += d.toString("latin1");
    for (let i = head.indexOf("\r\n\r\n"); i >= 0; i = head.indexOf("\r\n\r\n")) {
      queue.push(head.slice(0, i));
      head = head.slice(i + 4);
    }
    void pump();
  });
  sock.on("error", () => sock.destroy());
}

const server = createServer(serve);
server.listen(0, "127.0.0.1", () => {
  const port = (server.address() as { port: number }).port;
  console.log(
    JSON.stringify({ base: `http://127.0.0.1:${port}/cdn`, url: `http://127.0.0.1:${port}/cdn/${name}` }),
  );
});
