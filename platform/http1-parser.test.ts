import { describe, expect, test } from "bun:test";
import { Http1ParseError, Http1ResponseParser, type ResponseHead } from "./http1-parser.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function collect(bodyless = false) {
  const out = { head: null as ResponseHead | null, body: [] as number[], ended: 0 };
  const p = new Http1ResponseParser(
    {
      head: (h) => {
        out.head = h;
      },
      body: (c) => out.body.push(...c),
      end: () => {
        out.ended++;
      },
    },
    bodyless,
  );
  return { p, out };
}

/** Feed `bytes` cut at every position in `cuts` (each piece a separate socket read). */
function feedInPieces(p: Http1ResponseParser, bytes: Uint8Array, step: number) {
  for (let i = 0; i < bytes.length; i += step) p.feed(bytes.subarray(i, i + step));
}

describe("Http1ResponseParser", () => {
  const payload = "0123456789abcdef".repeat(20);
  const lengthResponse = enc(
    `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-319/1000\r\nContent-Length: 320\r\nETag: "x"\r\n\r\n${payload}`,
  );

  for (const step of [1, 2, 3, 7, 64, 10_000])
    test(`Content-Length body read in pieces of ${step} bytes`, () => {
      const { p, out } = collect();
      feedInPieces(p, lengthResponse, step);
      expect(out.head?.status).toBe(206);
      expect(out.head?.headers.get("content-range")).toBe("bytes 0-319/1000");
      expect(out.head?.keepAlive).toBe(true);
      expect(new TextDecoder().decode(new Uint8Array(out.body))).toBe(payload);
      expect(out.ended).toBe(1);
      expect(p.done).toBe(true);
    });

  test("chunked body with extensions and trailers, split anywhere", () => {
    const wire = enc(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    for (const step of [1, 4, 9, 1000]) {
      const { p, out } = collect();
      feedInPieces(p, wire, step);
      expect(new TextDecoder().decode(new Uint8Array(out.body))).toBe("hello world!");
      expect(out.ended).toBe(1);
    }
  });

  test("an interim 100 Continue is skipped", () => {
    const { p, out } = collect();
    p.feed(enc("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    expect(out.head?.status).toBe(200);
    expect(out.body.length).toBe(2);
    expect(out.ended).toBe(1);
  });

  test("HEAD, 204 and 304 answers have no body whatever Content-Length says", () => {
    const head = collect(true);
    head.p.feed(enc("HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"));
    expect(head.out.ended).toBe(1);
    for (const status of [204, 304]) {
      const { p, out } = collect();
      p.feed(enc(`HTTP/1.1 ${status} X\r\nContent-Length: 5\r\n\r\n`));
      expect(out.ended).toBe(1);
      expect(out.body.length).toBe(0);
    }
  });

  test("a body without framing ends with the connection and is not kept alive", () => {
    const { p, out } = collect();
    p.feed(enc("HTTP/1.1 200 OK\r\n\r\nabc"));
    p.feed(enc("def"));
    expect(out.ended).toBe(0);
    p.eof();
    expect(out.ended).toBe(1);
    expect(out.head?.keepAlive).toBe(false);
    expect(out.body.length).toBe(6);
  });

  test("the connection closing early is an error naming what was cut", () => {
    const { p } = collect();
    p.feed(enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    expect(() => p.eof()).toThrow(/before the end of the response body/);
    const fresh = collect();
    expect(fresh.p.pristine).toBe(true);
    expect(() => fresh.p.eof()).toThrow(/before a response arrived/);
  });

  test("keep-alive follows the HTTP version and the Connection header", () => {
    const cases: Array<[string, boolean]> = [
      ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false],
      ["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false],
      ["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true],
    ];
    for (const [wire, keep] of cases) {
      const { p, out } = collect();
      p.feed(enc(wire));
      expect(out.head?.keepAlive).toBe(keep);
    }
  });

  test("malformed answers are rejected with a clear error", () => {
    const bad = [
      ["SSH-2.0-OpenSSH\r\n\r\n", /bad status line/],
      ["HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", /bad Content-Length/],
      ["HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /bad header line/],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /bad chunk size/],
      ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", /after the end of the response/],
    ] as const;
    for (const [wire, re] of bad) {
      const { p } = collect();
      expect(() => p.feed(enc(wire))).toThrow(re);
      expect(() => collect().p.feed(enc(wire))).toThrow(Http1ParseError);
    }
  });

  test("an endless head is refused", () => {
    const { p } = collect();
    expect(() => p.feed(enc(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(70_000)}`))).toThrow(/larger than 64 KiB/);
  });
});
