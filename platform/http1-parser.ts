// An incremental HTTP/1.1 response parser for the bulk-transfer client (platform/http1-client.ts): the
// head, then a body framed by Content-Length, chunked transfer coding, or the connection closing. Pure and
// runtime-neutral; it never copies body bytes (chunks are subarrays of what the socket delivered).

export interface ResponseHead {
  status: number;
  statusText: string;
  headers: Headers;
  /** The connection may carry another request once this response's body has ended. */
  keepAlive: boolean;
}

export interface ParserEvents {
  head(h: ResponseHead): void;
  body(chunk: Uint8Array): void;
  end(): void;
}

type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailer" | "close" | "done";

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const decoder = new TextDecoder("latin1");

export class Http1ParseError extends Error {}

export class Http1ResponseParser {
  private state: State = "head";
  private head: Uint8Array = new Uint8Array(0);
  private remaining = 0;
  private line = "";
  private keepAlive = false;

  /** `bodyless`: the request was HEAD (the answer has no body whatever its headers say). */
  constructor(
    private readonly ev: ParserEvents,
    private readonly bodyless = false,
  ) {}

  get done(): boolean {
    return this.state === "done";
  }

  /** Nothing of the response has arrived yet (a reused connection that fails now can be retried). */
  get pristine(): boolean {
    return this.state === "head" && this.head.length === 0;
  }

  feed(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      switch (this.state) {
        case "head":
          off = this.feedHead(data, off);
          break;
        case "length": {
          const n = Math.min(this.remaining, data.length - off);
          this.ev.body(data.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case "close":
          this.ev.body(off === 0 ? data : data.subarray(off));
          off = data.length;
          break;
        case "chunk-data": {
          const n = Math.min(this.remaining, data.length - off);
          if (n > 0) this.ev.body(data.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = "chunk-crlf";
          break;
        }
        case "chunk-size":
        case "chunk-crlf":
        case "trailer":
          off = this.feedLine(data, off);
          break;
        case "done":
          throw new Http1ParseError("the server sent bytes after the end of the response");
      }
    }
  }

  /** The connection reached end of stream. */
  eof(): void {
    if (this.state === "close") {
      this.finish();
      return;
    }
    if (this.state !== "done")
      throw new Http1ParseError(
        this.state === "head"
          ? "the connection closed before a response arrived"
          : "the connection closed before the end of the response body",
      );
  }

  private finish(): void {
    this.state = "done";
    this.ev.end();
  }

  private feedHead(data: Uint8Array, off: number): number {
    const prevLen = this.head.length;
    // Only the head is copied: the body bytes that usually share its socket read are left where they are.
    const piece = data.subarray(off, off + MAX_HEAD + 4);
    let joined = piece;
    if (prevLen > 0) {
      joined = new Uint8Array(prevLen + piece.length);
      joined.set(this.head, 0);
      joined.set(piece, prevLen);
    }
    const at = indexOf(joined, CRLFCRLF, Math.max(0, prevLen - 3));
    if (at < 0) {
      if (joined.length > MAX_HEAD) throw new Http1ParseError("response head larger than 64 KiB");
      this.head = prevLen > 0 ? joined : joined.slice();
      return off + piece.length;
    }
    this.head = new Uint8Array(0);
    const consumed = at + 4 - prevLen; // bytes of `data` (from off) that belonged to the head
    const h = parseHead(decoder.decode(joined.subarray(0, at)));
    if (h.status >= 100 && h.status < 200) return off + consumed; // interim response: the real one follows
    this.keepAlive = h.keepAlive;
    const te = h.headers.get("transfer-encoding");
    const cl = h.headers.get("content-length");
    let next: State;
    if (this.bodyless || h.status === 204 || h.status === 304) next = "done";
    else if (te && /(^|,)\s*chunked\s*$/i.test(te)) next = "chunk-size";
    else if (cl !== null) {
      if (!/^\d+$/.test(cl.trim())) throw new Http1ParseError(`bad Content-Length '${cl}'`);
      this.remaining = Number(cl.trim());
      next = this.remaining === 0 ? "done" : "length";
    } else {
      next = "close";
      this.keepAlive = false;
    }
    this.ev.head({ ...h, keepAlive: this.keepAlive });
    if (next === "done") this.finish();
    else this.state = next;
    return off + consumed;
  }

  /** Chunk-size lines, the CRLF after chunk data, and trailer lines. */
  private feedLine(data: Uint8Array, off: number): number {
    const nl = data.indexOf(10, off);
    const end = nl < 0 ? data.length : nl;
    this.line += decoder.decode(data.subarray(off, end));
    if (this.line.length > MAX_LINE) throw new Http1ParseError("chunk line too long");
    if (nl < 0) return data.length;
    const line = this.line.replace(/\r$/, "");
    this.line = "";
    if (this.state === "chunk-crlf") {
      if (line !== "") throw new Http1ParseError("missing CRLF after chunk data");
      this.state = "chunk-size";
    } else if (this.state === "chunk-size") {
      const hex = line.split(";")[0]!.trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new Http1ParseError(`bad chunk size '${hex}'`);
      this.remaining = Number.parseInt(hex, 16);
      this.state = this.remaining === 0 ? "trailer" : "chunk-data";
    } else if (line === "") this.finish(); // end of trailers
    return nl + 1;
  }
}

function parseHead(text: string): Omit<ResponseHead, "keepAlive"> & { keepAlive: boolean } {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!m) throw new Http1ParseError(`bad status line '${(lines[0] ?? "").slice(0, 80)}'`);
  const headers = new Headers();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i <= 0) throw new Http1ParseError(`bad header line '${l.slice(0, 80)}'`);
    headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  const conn = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = m[1] === "1" ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
  return { status: Number(m[2]), statusText: m[3] ?? "", headers, keepAlive };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
