// The only place that knows how Bun and Deno start an HTTP server.
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
}

export interface Server {
  readonly port: number;
  readonly hostname: string;
  readonly url: string;
  /** Stop serving bootRoutes natively; from now on `fetch` answers every path. */
  endBoot(): void;
  /** Stop accepting; wait for in-flight requests up to graceMs, then close everything. */
  stop(graceMs?: number): Promise<void>;
}

declare const Deno: any;

export const runtimeName: "bun" | "deno" = typeof (globalThis as any).Bun !== "undefined" ? "bun" : "deno";

export function serve(opts: ServeOptions): Server {
  return runtimeName === "bun" ? serveBun(opts) : serveDeno(opts);
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
