// A single file over plain HTTP(S). Probed with `Range: bytes=0-0` (range answers are never re-encoded and
// carry the total size); ranges are used only when the server honours them.
import { DownloadError } from "../errors.ts";
import type { ParsedUri, RemoteFile, Source } from "../types.ts";
import type { UrlGuard } from "./guard.ts";
import { bodyOf, checkRange, discard, failFor, rangeHeader, send, USER_AGENT } from "./http-util.ts";

/** `guard` checks the URL and every redirect hop before it is requested (see guard.ts). */
export function createHttpSource(opts: { guard: UrlGuard; headers?: Record<string, string> }): Source {
  const guard = opts.guard;
  const base = { "user-agent": USER_AGENT, "accept-encoding": "identity", ...opts.headers };
  return {
    async *list(uri: ParsedUri, signal: AbortSignal): AsyncIterable<RemoteFile> {
      const res = await send(
        uri.raw,
        { headers: { ...base, range: "bytes=0-0" }, signal, redirect: "follow" },
        uri.raw,
        { guard },
      );
      if (!res.ok) await failFor(res, uri.raw);
      await discard(res);
      const name = uri.path.split("/").filter(Boolean).pop() ?? "downloaded_file";
      const etag = res.headers.get("etag") ?? undefined;
      const strong = etag && !etag.startsWith("W/") ? etag : undefined;
      if (res.status === 206) {
        const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
        if (total === undefined)
          throw new DownloadError("network", `${uri.raw}: no total size in Content-Range`);
        yield { path: name, key: res.url || uri.raw, size: Number(total), etag: strong, acceptRanges: true };
        return;
      }
      let len = res.headers.get("content-length");
      if (len === null) {
        // A streamed 200 may carry no length; ask with HEAD.
        const head = await send(
          res.url || uri.raw,
          { method: "HEAD", headers: base, signal, redirect: "follow" },
          uri.raw,
          { guard },
        );
        len = head.ok ? head.headers.get("content-length") : null;
      }
      if (len === null)
        throw new DownloadError("network", `${uri.raw}: the server sends no size (Content-Length)`);
      yield { path: name, key: res.url || uri.raw, size: Number(len), etag: strong, acceptRanges: false };
    },

    async open(uri, file, range, signal) {
      const url = file.key ?? uri.raw;
      const headers: Record<string, string> = { ...base };
      if (range) headers.range = rangeHeader(range);
      if (range && file.etag) headers["if-match"] = file.etag;
      const res = await send(url, { headers, signal, redirect: "follow" }, uri.raw, { bulk: true, guard });
      if (!res.ok) await failFor(res, uri.raw);
      if (range) checkRange(res, range, uri.raw);
      return bodyOf(res, uri.raw);
    },
  };
}
