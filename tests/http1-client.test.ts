// The downloader's lean HTTP/1.1 client (platform/http1-client.ts) over real sockets: keep-alive reuse,
// a pooled connection the server closed, abort, backpressure, chunked bodies, certificate checks, and the
// redirect handling of the sources' `send` on top of it.
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { bulkClientUsable, bulkRequest, bypassesProxy, proxyFor } from "../platform/http1-client.ts";
import { serve } from "../platform/serve.ts";
import { spawnProcess, waitUntil } from "./helpers/sidecar.ts";
import { urlGuard } from "../storage/sources/guard.ts";
import { send } from "../storage/sources/http-util.ts";

const servers: Array<{ close(): void }> = [];
afterAll(() => {
  for (const s of servers) s.close();
});

const data = randomBytes(3 * 1024 * 1024);

/** A raw HTTP/1.1 server answering ranged GETs of `data`; counts connections and requests. */
async function rawServer(opts: { closeAfterEach?: boolean; noAnnounce?: boolean } = {}) {
  const stats = { connections: 0, requests: 0, closed: 0, sent: 0 };
  const sockets = new Set<Socket>();
  const srv: Server = createServer((sock) => {
    stats.connections++;
    sockets.add(sock);
    sock.on("close", () => {
      stats.closed++;
      sockets.delete(sock);
    });
    sock.on("error", () => {});
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (let i = buf.indexOf("\r\n\r\n"); i >= 0; i = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        stats.requests++;
        const m = /range: bytes=(\d+)-(\d+)/i.exec(head);
        const [s, e] = m ? [Number(m[1]), Number(m[2]) + 1] : [0, data.length];
        const body = data.subarray(s, e);
        const conn = opts.closeAfterEach && !opts.noAnnounce ? "connection: close\r\n" : "";
        sock.write(
          `HTTP/1.1 206 Partial Content\r\ncontent-range: bytes ${s}-${e - 1}/${data.length}\r\ncontent-length: ${body.length}\r\n${conn}\r\n`,
        );
        const flushed = sock.write(body);
        stats.sent += body.length;
        if (opts.closeAfterEach) {
          if (flushed) sock.end();
          else sock.once("drain", () => sock.end());
        }
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  servers.push({ close: () => srv.close() });
  const port = (srv.address() as { port: number }).port;
  return { url: new URL(`http://127.0.0.1:${port}/blob`), stats, sockets };
}

const TLS_DIR = join(import.meta.dir, "fixtures", "tls");

/** An HTTPS server on 127.0.0.1 with the fixture certificate `<name>-cert.pem`; returns its port. */
async function httpsServer(name: string, body: string): Promise<number> {
  const srv = createHttpsServer(
    {
      cert: readFileSync(join(TLS_DIR, `${name}-cert.pem`), "utf8"),
      key: readFileSync(join(TLS_DIR, `${name}-key.pem`), "utf8"),
    },
    (_req, res) => res.end(body),
  );
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  servers.push({ close: () => srv.close() });
  return (srv.address() as { port: number }).port;
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe("bulk HTTP/1.1 client", () => {
  test("ranged GETs reuse one keep-alive connection and arrive byte-exact", async () => {
    const { url, stats } = await rawServer();
    const step = 512 * 1024;
    for (let s = 0; s < data.length; s += step) {
      const res = await bulkRequest(url, { headers: { range: `bytes=${s}-${s + step - 1}` } });
      expect(res.status).toBe(206);
      expect((await bytesOf(res)).equals(data.subarray(s, s + step))).toBe(true);
    }
    expect(stats.requests).toBe(6);
    expect(stats.connections).toBe(1);
  });

  test("a server that closes without saying so: the next request retries on a fresh connection", async () => {
    const { url, stats } = await rawServer({ closeAfterEach: true, noAnnounce: true });
    for (let i = 0; i < 3; i++) {
      const res = await bulkRequest(url, { headers: { range: "bytes=0-99" } });
      expect((await bytesOf(res)).equals(data.subarray(0, 100))).toBe(true);
      await waitUntil(() => stats.closed === i + 1); // the close arrived: the pooled connection is stale
    }
    expect(stats.connections).toBe(3);
  });

  test("a pooled connection dropped as the next request arrives: that request is retried once, transparently", async () => {
    let connections = 0;
    let requests = 0;
    const srv = createServer((sock) => {
      connections++;
      let seen = 0;
      sock.on("error", () => {});
      sock.on("data", () => {
        requests++;
        // The keep-alive race: the server gives up on the idle connection just as a request arrives.
        if (++seen > 1) return void sock.destroy();
        sock.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    servers.push({ close: () => srv.close() });
    const url = new URL(`http://127.0.0.1:${(srv.address() as { port: number }).port}/x`);
    expect(await (await bulkRequest(url)).text()).toBe("hello");
    expect(await (await bulkRequest(url)).text()).toBe("hello"); // written on the pooled one, then retried
    expect({ connections, requests }).toEqual({ connections: 2, requests: 3 });
  });

  test("an abort mid-body errors the stream and the connection is not reused", async () => {
    const { url, stats } = await rawServer();
    const ac = new AbortController();
    const res = await bulkRequest(url, { headers: {}, signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect(reader.read()).rejects.toThrow();
    const again = await bulkRequest(url, { headers: { range: "bytes=10-19" } });
    expect((await bytesOf(again)).equals(data.subarray(10, 20))).toBe(true);
    expect(stats.connections).toBe(2);
  });

  test("a reader that stops reading stops the socket (backpressure), then gets every byte", async () => {
    const big = await rawServer();
    const res = await bulkRequest(big.url, { headers: {} });
    const reader = res.body!.getReader();
    const first = await reader.read();
    // Wait until the server has handed every byte to the socket: they now wait in buffers for the reader.
    await waitUntil(
      () => big.stats.sent === data.length && [...big.sockets].every((s) => s.writableLength === 0),
    );
    // Unread: at most the client's 512 KiB queue, the socket buffers and what the server holds in memory.
    let got = first.value!.length;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.length;
    }
    expect(got).toBe(data.length);
    // A stronger check with a body larger than every buffer on the way: the server cannot finish writing.
    const huge = Buffer.alloc(64 * 1024 * 1024, 7);
    let accepted = 0;
    let blocked = false;
    const srv = createServer((sock) => {
      sock.on("error", () => {});
      sock.once("data", () => {
        sock.write(`HTTP/1.1 200 OK\r\ncontent-length: ${huge.length}\r\n\r\n`);
        const piece = 256 * 1024;
        const pump = () => {
          blocked = false;
          while (accepted < huge.length) {
            const ok = sock.write(huge.subarray(accepted, accepted + piece));
            accepted += piece;
            if (!ok) {
              blocked = true;
              return void sock.once("drain", pump);
            }
          }
        };
        pump();
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    servers.push({ close: () => srv.close() });
    const port = (srv.address() as { port: number }).port;
    const ac = new AbortController();
    const slow = await bulkRequest(new URL(`http://127.0.0.1:${port}/`), { signal: ac.signal });
    await slow.body!.getReader().read();
    // The server is blocked on 'drain' and stays blocked (the same amount accepted over 10 looks in a row).
    let steady = 0;
    let seen = -1;
    await waitUntil(() => {
      steady = blocked && accepted === seen ? steady + 1 : 0;
      seen = accepted;
      return steady >= 10;
    });
    expect(accepted).toBeLessThan(40 * 1024 * 1024);
    ac.abort();
  });

  test("a chunked body (no Content-Length) arrives whole", async () => {
    const srv = serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(data.subarray(0, 1000));
              c.enqueue(data.subarray(1000, 70_000));
              c.close();
            },
          }),
        ),
    });
    servers.push({ close: () => void srv.stop(0) });
    const res = await bulkRequest(new URL(`${srv.url}/x`));
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect((await bytesOf(res)).equals(data.subarray(0, 70_000))).toBe(true);
  });

  test("HTTPS with a certificate nobody trusts is refused", async () => {
    const url = new URL(`https://127.0.0.1:${await httpsServer("untrusted", "secret bytes")}/x`);
    expect(bulkClientUsable(url)).toBe(true);
    await expect(bulkRequest(url).then((r) => r.text())).rejects.toThrow(
      /TLS: the certificate of 127.0.0.1 was refused/,
    );
  });

  test("HTTPS through a private CA (NODE_EXTRA_CA_CERTS): trusted, and a wrong host name is refused", async () => {
    const urls = [
      `https://127.0.0.1:${await httpsServer("good", "hello good")}/`,
      `https://127.0.0.1:${await httpsServer("wrong", "hello wrong")}/`,
    ];
    /** One JSON line per URL from the child (its other output, if any, is not JSON and is skipped). */
    const runChild = async (env: Record<string, string>) => {
      const p = spawnProcess(process.execPath, [join(TLS_DIR, "bulk-get.ts"), ...urls], env);
      await p.exited;
      return p
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    // "good" has SAN IP:127.0.0.1, "wrong" has SAN DNS:other.example; both are signed by the test CA.
    const trusted = await runChild({ NODE_EXTRA_CA_CERTS: join(TLS_DIR, "test-ca.pem") });
    expect(trusted[0]).toMatchObject({ status: 200, body: "hello good" });
    expect(trusted[1]!.error).toMatch(
      /TLS: the certificate of 127\.0\.0\.1 was refused \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    );
    const untrusted = await runChild({});
    expect(untrusted[0]!.error).toMatch(/TLS: the certificate of 127\.0\.0\.1 was refused/);
  });

  test("an abort while a TLS server never answers returns at once", async () => {
    let connected = false;
    const silent = createServer((sock) => {
      connected = true; // accepts, never answers TLS
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    servers.push({ close: () => silent.close() });
    const port = (silent.address() as { port: number }).port;
    const ac = new AbortController();
    const req = bulkRequest(new URL(`https://127.0.0.1:${port}/x`), { signal: ac.signal });
    await waitUntil(() => connected); // the handshake is under way and will never finish
    ac.abort();
    // Rejecting at all (the server never answers) shows the abort reached the pending handshake.
    await expect(req).rejects.toThrow();
  });

  test("proxies: http:// URLs go through an http:// proxy on the bulk client; https:// ones go to fetch", () => {
    const url = new URL("http://example.test/x");
    const saved = { h: process.env.HTTP_PROXY, s: process.env.HTTPS_PROXY };
    process.env.HTTP_PROXY = "http://proxy.test:3128";
    process.env.HTTPS_PROXY = "proxy.test:3129";
    try {
      expect(proxyFor(url)?.origin).toBe("http://proxy.test:3128");
      expect(bulkClientUsable(url)).toBe(true);
      expect(proxyFor(new URL("https://example.test/x"))?.origin).toBe("http://proxy.test:3129");
      expect(bulkClientUsable(new URL("https://example.test/x"))).toBe(false);
    } finally {
      for (const [k, v] of [
        ["HTTP_PROXY", saved.h],
        ["HTTPS_PROXY", saved.s],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    expect(bulkClientUsable(new URL("ftp://example.test/x"))).toBe(false);
  });

  test("NO_PROXY hosts bypass the proxy", () => {
    const list = "localhost, .svc.cluster.local,*.internal:9000, minio,10.0.0.5 ,[::1]";
    const yes = [
      "http://localhost/x",
      "http://minio.ns.svc.cluster.local/x",
      "http://svc.cluster.local/x",
      "http://s3.internal:9000/x",
      "http://minio:9000/x",
      "http://10.0.0.5/x",
      "http://[::1]:8080/x",
    ];
    const no = [
      "http://s3.internal:9001/x",
      "http://huggingface.co/x",
      "http://xminio/x",
      "http://10.0.0.50/x",
    ];
    for (const u of yes) expect(bypassesProxy(new URL(u), list)).toBe(true);
    for (const u of no) expect(bypassesProxy(new URL(u), list)).toBe(false);
    expect(bypassesProxy(new URL("https://anything.example/x"), "*")).toBe(true);
    const saved = { p: process.env.HTTP_PROXY, n: process.env.NO_PROXY };
    process.env.HTTP_PROXY = "http://proxy.test:3128";
    process.env.NO_PROXY = ".svc.cluster.local";
    try {
      expect(proxyFor(new URL("http://minio.ns.svc.cluster.local/b"))).toBeNull();
      expect(proxyFor(new URL("http://example.test/b"))?.host).toBe("proxy.test:3128");
    } finally {
      for (const [k, v] of [
        ["HTTP_PROXY", saved.p],
        ["NO_PROXY", saved.n],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  test("send() follows redirects on the bulk client and drops Authorization across origins", async () => {
    const seen: Array<string | null> = [];
    const target = serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        seen.push(req.headers.get("authorization"));
        if (new URL(req.url).pathname === "/same") return Response.redirect("/final", 302);
        return new Response("payload", { status: 206, headers: { "content-range": "bytes 0-6/7" } });
      },
    });
    const origin = serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => Response.redirect(`${target.url}/same`, 302),
    });
    servers.push({ close: () => void target.stop(0) }, { close: () => void origin.stop(0) });
    const res = await send(
      `${origin.url}/start`,
      { headers: { authorization: "Bearer t0ken", range: "bytes=0-6" }, redirect: "follow" },
      "test",
      { bulk: true, guard: urlGuard({ allowed: undefined }) },
    );
    expect(await res.text()).toBe("payload");
    expect(seen).toEqual([null, null]); // crossed origins once, so neither hop on the target got the token
    const manual = await send(`${origin.url}/start`, { headers: {} }, "test", {
      bulk: true,
    });
    expect(manual.status).toBe(302);
    await manual.body?.cancel();
  });
});
