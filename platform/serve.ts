// The only place that knows how Bun and Deno start an HTTP server.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Readable } from "node:stream";

export interface ServeOptions {
  hostname: string;
  port: number;
  /** Listen on a Unix socket instead of TCP when set. */
  unix?: string;
  fetch: (req: Request, info: { remoteAddress: string }) => Response | Promise<Response>;
  /**
   * Fixed answers served while the program boots. Under Bun they are answered natively, even while
   * JavaScript is busy evaluating the feature modules; `endBoot()` drops them so every path goes through
   * `fetch` again. Under Deno, `fetch` answers them.
   */
  bootRoutes?: Record<string, Response>;
  /**
   * Deliver request bodies sent with GET/DELETE/HEAD (AIBrix's GET /v1/model/list takes a JSON body).
   * Bun.serve drops them, so under Bun this serves through node:http; read them with `getRequestBody`.
   */
  acceptGetBodies?: boolean;
}

// Bodies of GET/HEAD/DELETE requests, which a web Request cannot carry (the Fetch spec forbids them).
const sideBodies = new WeakMap<Request, Uint8Array>();
/** The body a GET/HEAD/DELETE request was sent with (only from servers started with acceptGetBodies). */
export function getRequestBody(req: Request): Uint8Array | undefined {
  return sideBodies.get(req);
}
/** Attach a GET body to a Request, as the server does (for in-process tests through app.request()). */
export function withRequestBody(req: Request, body: Uint8Array): Request {
  sideBodies.set(req, body);
  return req;
}
const GET_BODY_LIMIT = 1024 * 1024;

export interface Server {
  readonly port: number;
  readonly hostname: string;
  readonly url: string;
  /** Settles once the socket listens; rejects with the listen error (EADDRINUSE, ...) when it cannot. */
  readonly ready: Promise<void>;
  /** Stop serving bootRoutes natively; from now on `fetch` answers every path. */
  endBoot(): void;
  /** Stop accepting; wait for in-flight requests up to graceMs, then close everything. */
  stop(graceMs?: number): Promise<void>;
}

declare const Deno: any;

export const runtimeName: "bun" | "deno" = typeof (globalThis as any).Bun !== "undefined" ? "bun" : "deno";

export function serve(opts: ServeOptions): Server {
  if (runtimeName === "bun") return opts.acceptGetBodies ? serveNode(opts) : serveBun(opts);
  return serveDeno(opts);
}

/** node:http (Bun implements it natively) for servers that must see GET bodies. */
function serveNode(opts: ServeOptions): Server {
  const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => void handleNode(req, res));
  server.requestTimeout = 0; // long LoRA loads; slow clients are bounded by the app's own timeouts
  let inflight = 0;
  async function handleNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inflight++;
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      const method = req.method ?? "GET";
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
        headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const host = opts.unix ? "localhost" : (req.headers.host ?? `${hostForUrl(opts.hostname)}:${port}`);
      const url = `http://${host}${req.url ?? "/"}`;
      const bodyless = method === "GET" || method === "HEAD";
      let side: Uint8Array | undefined;
      if (bodyless || method === "DELETE") {
        if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) {
          const got = await readAll(req, GET_BODY_LIMIT);
          if (got === null) {
            res.writeHead(413, { "content-type": "application/json", connection: "close" });
            res.end(JSON.stringify({ detail: "request body too large" }));
            return;
          }
          side = got;
        }
      }
      const init: RequestInit & { duplex?: "half" } = { method, headers, signal: ac.signal };
      if (!bodyless && side === undefined) {
        init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
        init.duplex = "half";
      } else if (!bodyless && side) init.body = side as Uint8Array<ArrayBuffer>;
      const request = new Request(url, init);
      if (side && side.length > 0) sideBodies.set(request, side);
      const response = await opts.fetch(request, { remoteAddress: req.socket.remoteAddress ?? "unix" });
      const out: string[] = [];
      response.headers.forEach((v, k) => {
        if (k === "set-cookie") return;
        out.push(k, v);
      });
      for (const c of response.headers.getSetCookie()) out.push("set-cookie", c);
      // Management answers are small: one buffered write is much cheaper than pumping the stream.
      const body = method === "HEAD" || !response.body ? null : new Uint8Array(await response.arrayBuffer());
      res.writeHead(response.status, out);
      res.end(body);
    } catch (e) {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("Internal Server Error");
      } else res.destroy(e as Error);
    } finally {
      inflight--;
    }
  }
  // node:http reports listen failures (port in use, bad socket path) as an event, after listen() returns.
  const ready = new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  if (opts.unix) server.listen(opts.unix);
  else server.listen(opts.port, opts.hostname);
  const boundPort = () => {
    const addr = server.address();
    return opts.unix || !addr || typeof addr === "string" ? 0 : addr.port;
  };
  let port = boundPort();
  const hostname = opts.unix ? opts.unix : opts.hostname;
  return {
    get port() {
      if (port === 0) port = boundPort();
      return port;
    },
    hostname,
    get url() {
      return opts.unix ? `unix:${opts.unix}` : `http://${hostForUrl(hostname)}:${this.port}`;
    },
    ready,
    endBoot() {},
    async stop(graceMs = 10_000) {
      server.close();
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      server.closeAllConnections();
    },
  };
}

/** Read a whole node request body, or null when it is larger than `limit`. */
async function readAll(req: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) return null;
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function serveBun(opts: ServeOptions): Server {
  const B = (globalThis as any).Bun;
  // Our own count of requests whose handler has not returned yet (Bun's pendingRequests lags behind).
  let inflight = 0;
  const fetch = async (req: Request, srv: any) => {
    inflight++;
    try {
      return await opts.fetch(req, { remoteAddress: srv.requestIP(req)?.address ?? "unix" });
    } finally {
      inflight--;
    }
  };
  const server = B.serve({
    ...(opts.unix ? { unix: opts.unix } : { hostname: opts.hostname, port: opts.port }),
    ...(opts.bootRoutes ? { routes: opts.bootRoutes } : {}),
    // LoRA loads may wait on the engine for up to ~25 s; downloads status is quick. 0 would never time out.
    idleTimeout: 120,
    maxRequestBodySize: 64 * 1024 * 1024,
    fetch,
  });
  const port = opts.unix ? 0 : (server.port as number);
  const hostname = opts.unix ? opts.unix : (server.hostname as string);
  return {
    port,
    hostname,
    url: opts.unix ? `unix:${opts.unix}` : `http://${hostForUrl(hostname)}:${port}`,
    ready: Promise.resolve(), // Bun.serve throws at once when it cannot listen
    endBoot() {
      if (opts.bootRoutes) server.reload({ routes: {}, fetch });
    },
    async stop(graceMs = 10_000) {
      // stop(false) closes the listener; its promise does not wait for in-flight requests, so wait for
      // in-flight requests to drain (bounded by the grace period) before closing what is left.
      void server.stop(false);
      const deadline = Date.now() + graceMs;
      const busy = () => inflight > 0 || (server.pendingRequests as number) > 0;
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await server.stop(true);
    },
  };
}

function serveDeno(opts: ServeOptions): Server {
  const ac = new AbortController();
  let bound = { port: opts.port, hostname: opts.hostname };
  const server = Deno.serve(
    {
      ...(opts.unix ? { path: opts.unix, transport: "unix" } : { hostname: opts.hostname, port: opts.port }),
      signal: ac.signal,
      onListen: (addr: any) => {
        bound = { port: addr.port ?? 0, hostname: addr.hostname ?? opts.hostname };
      },
    },
    (req: Request, info: any) => opts.fetch(req, { remoteAddress: info?.remoteAddr?.hostname ?? "unix" }),
  );
  const addr = server.addr ?? bound;
  return {
    port: addr.port ?? 0,
    hostname: addr.hostname ?? opts.hostname,
    url: opts.unix ? `unix:${opts.unix}` : `http://${hostForUrl(addr.hostname)}:${addr.port}`,
    ready: Promise.resolve(), // Deno.serve throws at once when it cannot listen
    endBoot() {},
    async stop(graceMs = 10_000) {
      const graceful = server.shutdown() as Promise<void>;
      const timer = new Promise<void>((r) => setTimeout(r, graceMs));
      await Promise.race([graceful, timer]);
      ac.abort();
    },
  };
}

function hostForUrl(h: string): string {
  if (h === "0.0.0.0" || h === "::") return "127.0.0.1";
  return h.includes(":") ? `[${h}]` : h;
}
