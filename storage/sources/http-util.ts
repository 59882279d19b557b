// Small fetch helpers shared by the sources: transport errors become `network` failures (retried by the
// engine), HTTP failures become typed reasons, and bodies of failed responses are always released.
import { bulkClientUsable, bulkRequest, proxyFor } from "../../platform/http1-client.ts";
import { traced } from "../../lib/trace.ts";
import { DownloadError, httpFailure, unreachable } from "../errors.ts";
import type { UrlGuard } from "./guard.ts";

export const USER_AGENT = "airuntime-downloader/1";

/** Redirects followed for `redirect: "follow"` (fetch's own limit). */
const MAX_FOLLOW = 20;

/** `bulk`: a ranged GET of file bytes, sent on the lean HTTP/1.1 client where it can be (see
 *  platform/http1-client.ts); everything else, and bulk requests it cannot carry, go through fetch.
 *  `guard`: checked before every request, the first and each redirect hop (fetch and the bulk client are
 *  only ever asked for one hop, so nothing is followed unchecked). `redirect: "follow"` needs a guard.
 *  `headersFor`: the headers of each hop (credentials for one host only), instead of dropping
 *  Authorization across origins; `landed`: told the URL that finally answered; `maxRedirects`: 20. */
export async function send(
  url: string | URL,
  init: RequestInit,
  what: string,
  opts: {
    bulk?: boolean;
    guard?: UrlGuard;
    setting?: string;
    headersFor?: (u: URL) => HeadersInit;
    landed?: (u: URL) => void;
    maxRedirects?: number;
  } = {},
): Promise<Response> {
  const follow = init.redirect === "follow";
  if (follow && !opts.guard) throw new Error(`${what}: redirects are followed only through a URL guard`);
  let u = new URL(url);
  let headers = new Headers(opts.headersFor?.(u) ?? init.headers);
  for (let hop = 0; ; hop++) {
    await opts.guard?.(u, hop === 0 ? what : `${what} (redirect ${hop})`);
    const res = await sendOnce(
      u,
      { ...init, headers, redirect: "manual" },
      what,
      opts.bulk ?? false,
      hop === 0 ? (opts.setting ?? "") : "",
    );
    const location = res.headers.get("location");
    if (!follow || res.status < 300 || res.status >= 400 || !location) {
      opts.landed?.(u);
      return res;
    }
    await discard(res);
    if (hop >= (opts.maxRedirects ?? MAX_FOLLOW))
      throw new DownloadError("network", `${what}: too many redirects`);
    const next = new URL(location, u);
    if (opts.headersFor) headers = new Headers(opts.headersFor(next));
    else if (next.origin !== u.origin) headers.delete("authorization"); // as fetch does across origins
    u = next;
  }
}

/** `setting` names the variable the endpoint came from (HF_ENDPOINT, ...), for the unreachable message. */
async function sendOnce(
  url: URL,
  init: RequestInit,
  what: string,
  bulk: boolean,
  setting: string,
): Promise<Response> {
  try {
    const method = init.method ?? "GET";
    if (bulk && bulkClientUsable(url))
      return await traced("download", method, url, () =>
        bulkRequest(url, { method: init.method, headers: init.headers, signal: init.signal }),
      );
    return await traced("download", method, url, () => fetch(url, init));
  } catch (e) {
    if (init.signal?.aborted) throw init.signal.reason ?? e;
    const msg = (e as Error).message;
    // A certificate that cannot be verified stays so: fail at once (no retries) and say what fixes it.
    if (TLS_REFUSAL.test(msg))
      throw new DownloadError(
        "tls",
        `cannot verify the TLS certificate of ${what}: ${msg} (a private CA goes in NODE_EXTRA_CA_CERTS)`,
        { cause: e },
      );
    // A refused connection or an unknown host fails at once (retrying cannot help); the message names the
    // endpoint, and the proxy setting when the connection went to a proxy.
    const target = new URL(url);
    const proxy = proxyFor(target);
    const fast = proxy
      ? unreachable(
          e,
          `the proxy ${proxy.origin}`,
          target.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY",
        )
      : unreachable(e, target.origin, setting);
    if (fast) throw fast;
    const via = setting ? ` (${target.origin}, from ${setting})` : "";
    throw new DownloadError("network", `cannot reach ${what}${via}: ${msg}`, { cause: e });
  }
}

/** Certificate failures as the bulk client and Bun's fetch word them. */
const TLS_REFUSAL =
  /^TLS: the certificate|ERR_TLS_CERT|CERT_HAS_EXPIRED|UNABLE_TO_VERIFY|SELF_SIGNED_CERT|self[- ]signed certificate|unable to verify the first certificate|certificate has expired|unable to get local issuer/i;

/** Throw the typed failure for a non-2xx response (its body is discarded). */
export async function failFor(res: Response, what: string): Promise<never> {
  const text = await res.text().catch(() => "");
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  // S3 answers 400 for an expired or malformed session token: an auth failure, not worth a retry.
  const err =
    res.status === 400 && code && CREDENTIAL_CODES.test(code)
      ? new DownloadError(
          "auth",
          `access denied (HTTP 400) for ${what}: the credentials are expired or invalid`,
        )
      : httpFailure(res.status, what, res.headers.get("retry-after") ?? rateLimitReset(res));
  if (code && err.reason !== "network") (err as { message: string }).message += ` (${code})`;
  throw err;
}

const CREDENTIAL_CODES =
  /^(ExpiredToken|InvalidToken|TokenRefreshRequired|AuthorizationHeaderMalformed|InvalidAccessKeyId|SignatureDoesNotMatch)$/;

/** IETF RateLimit header ("limit=..., remaining=0, reset=55" or "...;t=55") as seconds to wait. */
function rateLimitReset(res: Response): string | null {
  const v = res.headers.get("ratelimit");
  const m = v ? /(?:reset|t)=(\d+)/.exec(v) : null;
  return m ? m[1]! : null;
}

export function bodyOf(res: Response, what: string): ReadableStream<Uint8Array> {
  if (!res.body) throw new DownloadError("network", `empty response body from ${what}`);
  return res.body;
}

/** Throw a response body away. A server that resets the connection mid-body (the body was not wanted)
 *  must not fail the caller, who already has what it needed from the headers. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

export const rangeHeader = (r: { start: number; end: number }) => `bytes=${r.start}-${r.end - 1}`;

/** Check that a 206 answer covers exactly the range we asked for (end exclusive). */
export function checkRange(res: Response, r: { start: number; end: number }, what: string): void {
  if (res.status !== 206)
    throw new DownloadError("network", `${what} ignored the Range request (HTTP ${res.status})`);
  const cr = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get("content-range") ?? "");
  if (!cr || Number(cr[1]) !== r.start || Number(cr[2]) !== r.end - 1)
    throw new DownloadError(
      "network",
      `${what} answered a different range (${res.headers.get("content-range")})`,
    );
}

export const stripQuotes = (etag: string | null | undefined) =>
  etag ? etag.replace(/^W\//, "").replace(/^"|"$/g, "") : undefined;

export function xmlValues(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(unescapeXml(m[1]!));
  return out;
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/&amp;/g, "&");
}
