// Hugging Face Hub: pin the revision to a commit, list the tree (sizes, git SHA-1, LFS SHA-256), then GET
// /resolve/<commit>/<path>, its redirects followed through the guard (http-util.ts send) with the token sent
// to the hub's host only.
import { DownloadError } from "../errors.ts";
import type { ParsedUri, RemoteFile, Source } from "../types.ts";
import type { HfTokenProvider } from "./credentials/hf-token.ts";
import type { UrlGuard } from "./guard.ts";
import { bodyOf, checkRange, discard, failFor, rangeHeader, send, USER_AGENT } from "./http-util.ts";

export interface HfOptions {
  endpoint: string;
  /** HF_TOKEN, the request's token, or the token file (credentials/hf-token.ts); asked before each request
   *  (hfToken reads the file once). */
  token: HfTokenProvider;
  /** Revision when the URI names none (HF_REVISION); default "main". */
  revision?: string;
  /** Checks every URL before it is requested: hub calls, the resolve URL and each redirect hop. */
  guard: UrlGuard;
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

const MAX_REDIRECTS = 5;

type HubToken = Awaited<ReturnType<HfTokenProvider>>;

export function createHfSource(opts: HfOptions): Source {
  const hub = new URL(opts.endpoint);
  const guard = opts.guard;
  const commits = new Map<string, string>();
  const cdn = new Map<string, URL>();

  /** The token goes to the hub's host only, never to a CDN host a redirect leads to. */
  const headersFor = (
    url: URL,
    token: HubToken,
    extra: Record<string, string> = {},
  ): Record<string, string> => {
    const h: Record<string, string> = { "user-agent": USER_AGENT, "accept-encoding": "identity", ...extra };
    if (token && url.host === hub.host) h.authorization = `Bearer ${token.token}`;
    return h;
  };

  async function api(
    path: string,
    signal: AbortSignal,
    what: string,
    target: { repo: string; rev?: string },
  ): Promise<Response> {
    const token = await opts.token();
    const url = new URL(`${hub.pathname.replace(/\/+$/, "")}${path}`, hub);
    const res = await send(url, { headers: headersFor(url, token), signal }, what, {
      guard,
      setting: "HF_ENDPOINT",
    });
    if (res.ok) return res;
    const known = hubFailure(res, target, opts.endpoint, token?.source);
    if (known) {
      await discard(res);
      throw known;
    }
    return failFor(res, what);
  }

  async function resolveRevision(uri: ParsedUri, signal: AbortSignal): Promise<string> {
    const repo = uri.bucket!;
    const rev = uri.revision ?? opts.revision ?? "main";
    const info = (await (
      await api(`/api/models/${repo}/revision/${encodeURIComponent(rev)}`, signal, `hf://${repo}@${rev}`, {
        repo,
        rev,
      })
    ).json()) as { sha?: string };
    if (!info.sha || !/^[0-9a-f]{40}$/.test(info.sha))
      throw new DownloadError(
        "not_found",
        `hf://${repo}@${rev}: the hub returned no commit for this revision`,
      );
    commits.set(repo, info.sha);
    return info.sha;
  }

  return {
    pinnedRevision: (uri) => commits.get(uri.bucket!),

    resolveRevision,

    async *list(uri: ParsedUri, signal: AbortSignal): AsyncIterable<RemoteFile> {
      const repo = uri.bucket!;
      const sha = await resolveRevision(uri, signal);
      let next: string | undefined = `/api/models/${repo}/tree/${sha}?recursive=true&expand=false`;
      while (next) {
        const res = await api(next, signal, `hf://${repo} tree`, { repo });
        const entries = (await res.json()) as TreeEntry[];
        for (const e of entries) {
          if (e.type !== "file") continue;
          yield e.lfs
            ? { path: e.path, size: e.lfs.size ?? e.size, sha256: e.lfs.oid, etag: e.lfs.oid }
            : { path: e.path, size: e.size, gitSha1: e.oid, etag: e.oid };
        }
        const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
        next = link
          ? link.startsWith("http")
            ? new URL(link).pathname + new URL(link).search
            : link
          : undefined;
        if (next && hub.pathname !== "/" && next.startsWith(hub.pathname))
          next = next.slice(hub.pathname.length - 1);
      }
    },

    async open(uri, file, range, signal) {
      const token = await opts.token();
      const repo = uri.bucket!;
      const commit = commits.get(repo) ?? uri.revision ?? opts.revision ?? "main";
      const what = `hf://${repo}/${file.path}`;
      const key = `${repo}@${commit}/${file.path}`;
      const extra: Record<string, string> = range ? { range: rangeHeader(range) } : {};
      // The CDN location of a file is reused for its other ranges (one round trip less per request);
      // if it stops working (expired signature), resolve again.
      const cached = cdn.get(key);
      if (cached) {
        const res = await send(cached, { headers: headersFor(cached, token, extra), signal }, what, {
          bulk: true,
          guard,
        });
        if (res.ok) {
          if (range) checkRange(res, range, what);
          return bodyOf(res, what);
        }
        await discard(res);
        cdn.delete(key);
      }
      const path = file.path.split("/").map(encodeURIComponent).join("/");
      const url = new URL(`${hub.pathname.replace(/\/+$/, "")}/${repo}/resolve/${commit}/${path}`, hub);
      let landed = url;
      const res = await send(url, { signal, redirect: "follow" }, what, {
        bulk: true,
        guard,
        setting: "HF_ENDPOINT",
        headersFor: (u) => headersFor(u, token, extra),
        landed: (u) => {
          landed = u;
        },
        maxRedirects: MAX_REDIRECTS,
      });
      if (!res.ok) await failFor(res, what);
      if (landed !== url) cdn.set(key, landed);
      if (range) checkRange(res, range, what);
      return bodyOf(res, what);
    },
  };
}

/**
 * A hub refusal as a sentence that says which part is wrong: the repository, the revision or the token,
 * naming the hub (HF_ENDPOINT). The hub says which in X-Error-Code (RepoNotFound, RevisionNotFound,
 * GatedRepo); a private repository asked for without a token also reads as RepoNotFound. Null when the
 * status is not one of these (the generic HTTP mapping applies).
 */
function hubFailure(
  res: Response,
  t: { repo: string; rev?: string },
  endpoint: string,
  /** Where the token sent came from (HF_TOKEN, the request, the token file); undefined when none was sent. */
  tokenSource: string | undefined,
): DownloadError | null {
  const hasToken = tokenSource !== undefined;
  const code = res.headers.get("x-error-code") ?? "";
  const hub = `${endpoint.replace(/\/+$/, "")} (HF_ENDPOINT)`;
  const tokenHint = hasToken
    ? `the token from ${tokenSource} may not have access to it`
    : "if it is private or gated, set HF_TOKEN (or log in: HF_TOKEN_PATH)";
  if (code === "RevisionNotFound")
    return new DownloadError(
      "not_found",
      `revision '${t.rev ?? "?"}' not found in ${t.repo} on ${hub}; the repository exists: check the revision (a branch, tag or 40-hex commit: --revision, HF_REVISION or hf://${t.repo}@<rev>)`,
    );
  if (code === "RepoNotFound" || (res.status === 404 && code === ""))
    return new DownloadError(
      "not_found",
      `repository ${t.repo} not found on ${hub}: check the name (org/name); ${tokenHint}`,
    );
  if (code === "GatedRepo" || (res.status === 403 && hasToken))
    return new DownloadError(
      "auth",
      `${t.repo} on ${hub} is gated: accept its terms on the model page with the account whose token is used${hasToken ? ` (from ${tokenSource})` : " (set HF_TOKEN)"}`,
    );
  if (res.status === 401)
    return new DownloadError(
      "auth",
      hasToken
        ? `${hub} refused the token from ${tokenSource} (HTTP 401): it is invalid or expired`
        : `${hub} requires a token for ${t.repo} (HTTP 401): set HF_TOKEN (or log in: HF_TOKEN_PATH)`,
    );
  if (res.status === 403)
    return new DownloadError(
      "auth",
      `access to ${t.repo} on ${hub} denied (HTTP 403): it is private or gated: set HF_TOKEN (or log in: HF_TOKEN_PATH) to a token with access`,
    );
  return null;
}
