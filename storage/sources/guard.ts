// The check every URL a source is about to request passes: the request's own URL, a request-supplied
// endpoint and every redirect hop. Only http(s); AIRUNTIME_ALLOWED_SOURCES as an http(s) source of its own;
// never a link-local / metadata address (security/addresses.ts) unless an entry names that host exactly.
// Endpoints from the environment are trusted and skip the check (`trusted`).
import { linkLocalTarget, type Resolver } from "../../security/addresses.ts";
import { hostNamedExplicitly, urlAllowed } from "../../security/sources.ts";
import { DownloadError } from "../errors.ts";

/** Throws a `forbidden` DownloadError when `url` may not be requested. */
export type UrlGuard = (url: URL, what: string) => Promise<void>;

export interface GuardOptions {
  allowed: readonly string[] | undefined;
  /** URLs that need no check (the environment's own endpoint). */
  trusted?: (url: URL) => boolean;
  /** URLs the allow-list part lets through besides its entries (the hub's CDN for hf://). */
  alsoAllowed?: (url: URL) => boolean;
  resolve?: Resolver;
}

export function urlGuard(o: GuardOptions): UrlGuard {
  // One lookup per host for the life of the source (a download's ranged GETs reuse it).
  const lookups = new Map<string, Promise<string | null>>();
  return async (url, what) => {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw forbidden(`${what}: '${url.protocol}' URLs are not fetched (only http and https)`);
    if (o.trusted?.(url)) return;
    if (o.allowed && !urlAllowed(url, o.allowed) && !o.alsoAllowed?.(url))
      throw forbidden(
        `${what}: ${url.origin} is not allowed by AIRUNTIME_ALLOWED_SOURCES (${o.allowed.join(", ")})`,
      );
    if (hostNamedExplicitly(url, o.allowed)) return;
    let target = lookups.get(url.hostname);
    if (!target) {
      target = linkLocalTarget(url, o.resolve);
      lookups.set(url.hostname, target);
    }
    const address = await target;
    if (address)
      throw forbidden(
        `${what}: ${url.host} is a link-local / metadata address (${address}); name it in AIRUNTIME_ALLOWED_SOURCES (${url.protocol}//${url.host}) to allow it`,
      );
  };
}

const forbidden = (msg: string) => new DownloadError("forbidden", msg);
