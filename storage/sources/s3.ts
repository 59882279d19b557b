// S3-compatible object stores (AWS S3, MinIO, s3rver, Volcano TOS, GCS XML API with HMAC keys): list with
// ListObjects (v2 with continuation; v1 markers for GCS) and open byte ranges pinned with If-Match.
import { listDirOrObject, objectKey } from "./bucket.ts";
import { AwsClient } from "aws4fetch";
import { DownloadError } from "../errors.ts";
import type { ParsedUri, RemoteFile, Source } from "../types.ts";
import type { CredentialProvider } from "./credentials/types.ts";
import type { UrlGuard } from "./guard.ts";
import {
  bodyOf,
  checkRange,
  failFor,
  rangeHeader,
  send,
  stripQuotes,
  USER_AGENT,
  xmlValues,
} from "./http-util.ts";

export interface S3Options {
  /** Service endpoint, e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:9000. */
  endpoint: string;
  region: string;
  addressing: "path" | "virtual";
  /** null: unsigned requests (anonymous access to a public bucket). */
  credentials: CredentialProvider | null;
  /** GCS lists with ListObjects v1 (marker); everything else with v2 (continuation token). */
  listVersion?: 1 | 2;
  /** Name shown in messages: "s3", "tos", "gcs". */
  label: string;
  /** Checks every URL before it is signed and sent (a request-supplied endpoint; see guard.ts). */
  guard?: UrlGuard;
}

const PLAIN_MD5 = /^[0-9a-f]{32}$/;
const AUTH_FAILURE = new Set([400, 401, 403]);

export function createS3Source(opts: S3Options): Source {
  const base = new URL(opts.endpoint);
  const clients = new Map<string, AwsClient>();

  const urlFor = (bucket: string, key: string, query = ""): string => {
    const encKey = key.split("/").map(encodeURIComponent).join("/");
    const origin =
      opts.addressing === "virtual"
        ? `${base.protocol}//${bucket}.${base.host}`
        : `${base.protocol}//${base.host}`;
    const prefix = base.pathname.replace(/\/+$/, "");
    const path = opts.addressing === "virtual" ? `${prefix}/${encKey}` : `${prefix}/${bucket}/${encKey}`;
    return `${origin}${path}${query ? `?${query}` : ""}`;
  };

  async function signedFetch(
    url: string,
    init: RequestInit,
    what: string,
    how: { bulk?: boolean } = {},
  ): Promise<Response> {
    await opts.guard?.(new URL(url), what);
    const headers = new Headers(init.headers);
    headers.set("user-agent", USER_AGENT);
    if (!opts.credentials) {
      const res = await send(url, { method: init.method ?? "GET", headers, signal: init.signal }, what, how);
      if (AUTH_FAILURE.has(res.status)) await failFor(res, `${what} (unsigned: anonymous access)`);
      return res;
    }
    const creds = await opts.credentials();
    const key = `${creds.accessKeyId}\n${creds.sessionToken ?? ""}`;
    let client = clients.get(key);
    if (!client) {
      clients.clear();
      client = new AwsClient({
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
        service: "s3",
        region: opts.region,
      });
      clients.set(key, client);
    }
    const signed = await client.sign(url, { method: init.method ?? "GET", headers });
    const res = await send(
      signed.url,
      { method: signed.method, headers: signed.headers, signal: init.signal },
      what,
      how,
    );
    // A refused or expired credential: the message names where it came from.
    if (AUTH_FAILURE.has(res.status)) await failFor(res, `${what} (credentials from ${creds.source})`);
    return res;
  }

  async function* listPrefix(
    bucket: string,
    prefix: string,
    signal: AbortSignal,
  ): AsyncGenerator<RemoteFile> {
    let token: string | undefined;
    const what = `${opts.label}://${bucket}/${prefix}`;
    do {
      const q = new URLSearchParams();
      if (opts.listVersion === 1) {
        if (token) q.set("marker", token);
      } else {
        q.set("list-type", "2");
        if (token) q.set("continuation-token", token);
      }
      q.set("prefix", prefix);
      const res = await signedFetch(urlFor(bucket, "", q.toString()), { signal }, what);
      if (!res.ok) await failFor(res, what);
      const xml = await res.text();
      const contents = xmlValues(xml, "Contents");
      let lastKey: string | undefined;
      for (const c of contents) {
        const key = xmlValues(c, "Key")[0]!;
        lastKey = key;
        if (key.endsWith("/")) continue;
        const etag = stripQuotes(xmlValues(c, "ETag")[0]);
        yield {
          path: key.slice(prefix.length),
          size: Number(xmlValues(c, "Size")[0] ?? 0),
          etag: xmlValues(c, "ETag")[0],
          md5: etag && PLAIN_MD5.test(etag) ? etag : undefined,
        };
      }
      const truncated = xmlValues(xml, "IsTruncated")[0] === "true";
      token = truncated
        ? opts.listVersion === 1
          ? (xmlValues(xml, "NextMarker")[0] ?? lastKey)
          : xmlValues(xml, "NextContinuationToken")[0]
        : undefined;
      // A truncated page without a way to the next one would end the listing early: a partial model.
      if (truncated && !token)
        throw new DownloadError(
          "rejected",
          `${what}: the listing is truncated but names no next page (${opts.listVersion === 1 ? "NextMarker" : "NextContinuationToken"} missing); refusing a partial model`,
        );
    } while (token);
  }

  return {
    async authenticate() {
      await opts.credentials?.();
    },

    list(uri: ParsedUri, signal: AbortSignal): AsyncIterable<RemoteFile> {
      return listDirOrObject(
        uri,
        (bucket, prefix) => listPrefix(bucket, prefix, signal),
        async (bucket, key) => {
          const what = `${opts.label}://${bucket}/${key}`;
          const res = await signedFetch(urlFor(bucket, key), { method: "HEAD", signal }, what);
          if (!res.ok) await failFor(res, what);
          const etag = stripQuotes(res.headers.get("etag"));
          return {
            path: key.split("/").pop()!,
            key,
            size: Number(res.headers.get("content-length") ?? 0),
            etag: res.headers.get("etag") ?? undefined,
            md5: etag && PLAIN_MD5.test(etag) ? etag : undefined,
          };
        },
      );
    },

    async open(uri, file, range, signal) {
      const key = objectKey(uri, file);
      const what = `${opts.label}://${uri.bucket}/${key}`;
      const headers: Record<string, string> = {};
      if (range) headers.range = rangeHeader(range);
      if (file.etag) headers["if-match"] = file.etag.startsWith('"') ? file.etag : `"${file.etag}"`;
      const res = await signedFetch(urlFor(uri.bucket!, key), { headers, signal }, what, { bulk: true });
      if (!res.ok) await failFor(res, what);
      if (range) checkRange(res, range, what);
      return bodyOf(res, what);
    },
  };
}
