// Read a response body from a party we do not trust (the engine) with a byte cap: at most `maxBytes` are
// ever held, a longer body (a declared Content-Length over the cap, or a chunked/endless stream that passes
// it) is cancelled as soon as the cap is crossed, so its size cannot grow our memory.

export interface CappedText {
  /** The body as UTF-8 text; when `over`, only its first bytes (at most 64 KiB, for error messages). */
  text: string;
  /** The body was longer than `maxBytes` (it was cancelled there). */
  over: boolean;
}

const DECODER = new TextDecoder();
/** What is kept of a body over the cap: enough for an error message, never the whole cap. */
const HEAD_BYTES = 64 * 1024;

export async function readTextCapped(res: Response, maxBytes: number): Promise<CappedText> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  const body = res.body;
  if (!body) return { text: "", over: false };
  if (declared > maxBytes) {
    await body.cancel().catch(() => {});
    return { text: "", over: true };
  }
  // A declared length within the cap is all the client will read: the native reader is fastest.
  if (declared >= 0 && !res.headers.has("content-encoding")) return { text: await res.text(), over: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  let over = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.byteLength > maxBytes) {
      over = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    n += value.byteLength;
  }
  if (over) {
    const head = chunks[0]?.subarray(0, HEAD_BYTES) ?? new Uint8Array(0);
    return { text: DECODER.decode(head), over };
  }
  if (chunks.length === 1) return { text: DECODER.decode(chunks[0]), over };
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: DECODER.decode(all), over };
}
