// Google Cloud Storage over the JSON API with an OAuth bearer token (service account, metadata server) or
// none (public buckets): list GET /storage/v1/b/<bucket>/o?prefix= (pageToken pagination), object metadata
// GET .../o/<name>, bytes GET .../o/<name>?alt=media with Range, pinned to the listed generation
// (ifGenerationMatch) so a replaced object fails as `changed`. MD5 (base64 md5Hash) is verified. HMAC keys
// use the XML API instead (s3.ts).
import { listDirOrObject, objectKey } from "./bucket.ts";
import type { ParsedUri, RemoteFile, Source } from "../types.ts";
import type { TokenProvider } from "./credentials/types.ts";
import type { UrlGuard } from "./guard.ts";
import { bodyOf, checkRange, failFor, rangeHeader, send, USER_AGENT } from "./http-util.ts";

export interface GcsOptions {
  /** https://storage.googleapis.com, or a test / private endpoint. */
  endpoint: string;
  /** null: unauthenticated (public bucket). */
  token: TokenProvider | null;
  guard?: UrlGuard;
}

interface GcsObject {
  name: string;
  size: string | number;
  md5Hash?: string;
  generation?: string;
  etag?: string;
}

const AUTH_FAILURE = new Set([401, 403]);

export function createGcsSource(opts: GcsOptions): Source {
  const base = opts.endpoint.replace(/\/+$/, "");
  const objectUrl = (bucket: string, name: string, query = "") =>
    `${base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}${query ? `?${query}` : ""}`;

  async function call(url: string, what: string, init: RequestInit = {}, bulk = false): Promise<Response> {
    await opts.guard?.(new URL(url), what);
    const headers = new Headers(init.headers);
    headers.set("user-agent", USER_AGENT);
    headers.set("accept-encoding", "identity");
    const token = opts.token ? await opts.token() : null;
    if (token) headers.set("authorization", `Bearer ${token.token}`);
    const res = await send(url, { ...init, headers }, what, { bulk });
    if (AUTH_FAILURE.has(res.status))
      await failFor(
        res,
        `${what} (${token ? `credentials from ${token.source}` : "unauthenticated: anonymous access"})`,
      );
    return res;
  }

  const toFile = (o: GcsObject, path: string, key?: string): RemoteFile => ({
    path,
    key,
    size: Number(o.size),
    etag: o.generation,
    md5: o.md5Hash ? Buffer.from(o.md5Hash, "base64").toString("hex") : undefined,
  });

  async function* listPrefix(
    bucket: string,
    prefix: string,
    signal: AbortSignal,
  ): AsyncGenerator<RemoteFile> {
    let pageToken: string | undefined;
    const what = `gs://${bucket}/${prefix}`;
    do {
      const q = new URLSearchParams({ prefix });
      if (pageToken) q.set("pageToken", pageToken);
      const res = await call(`${base}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`, what, { signal });
      if (!res.ok) await failFor(res, what);
      const page = (await res.json()) as { items?: GcsObject[]; nextPageToken?: string };
      for (const o of page.items ?? []) {
        if (typeof o.name !== "string" || !o.name.startsWith(prefix) || o.name.endsWith("/")) continue;
        yield toFile(o, o.name.slice(prefix.length));
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  return {
    async authenticate() {
      await opts.token?.();
    },

    list(uri: ParsedUri, signal: AbortSignal): AsyncIterable<RemoteFile> {
      return listDirOrObject(
        uri,
        (bucket, prefix) => listPrefix(bucket, prefix, signal),
        async (bucket, key) => {
          const what = `gs://${bucket}/${key}`;
          const res = await call(objectUrl(bucket, key), what, { signal });
          if (!res.ok) await failFor(res, what);
          return toFile((await res.json()) as GcsObject, key.split("/").pop()!, key);
        },
      );
    },

    async open(uri, file, range, signal) {
      const key = objectKey(uri, file);
      const what = `gs://${uri.bucket}/${key}`;
      const q = new URLSearchParams({ alt: "media" });
      if (file.etag) q.set("ifGenerationMatch", file.etag);
      const headers: Record<string, string> = range ? { range: rangeHeader(range) } : {};
      const res = await call(objectUrl(uri.bucket!, key, q.toString()), what, { headers, signal }, true);
      if (!res.ok) await failFor(res, what);
      if (range) checkRange(res, range, what);
      return bodyOf(res, what);
    },
  };
}
