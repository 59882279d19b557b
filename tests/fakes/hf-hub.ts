// A fake Hugging Face Hub for tests, in process on 127.0.0.1, port 0.
//
//   const hub = await startFakeHfHub({ token: "hf_secret", pageSize: 2 });
//   await hub.addRepo("org/name", [{ path: "config.json", body: bytes }, { path: "model.safetensors", body, lfs: true }]);
//   hub.fault("org/name", "model.safetensors", { status: { code: 429, times: 1, retryAfter: 1 } });
//   ... HF_ENDPOINT=hub.url HF_TOKEN=hf_secret, URI hf://org/name (or org/name, hf://org/name@main)
//   hub.stats("org/name", "model.safetensors") -> { requests, bytes, ranged }; hub.totalBytes(); hub.resetStats()
//   hub.tokenLeaks  -> requests that reached the CDN host carrying an Authorization header (must stay 0)
//   await hub.stop();
//
// API: GET /api/models/<repo>/revision/<rev> -> {id, sha, siblings}; GET /api/models/<repo>/tree/<rev>
// ?recursive=true -> [{type, path, size, oid, lfs?}] paginated with Link: <...>; rel="next";
// GET /<repo>/resolve/<rev>/<path>: small files served directly (ETag = git blob SHA-1, X-Repo-Commit),
// LFS files 302 to http://localhost:<port>/cdn/<sha256> (another host, like the real CDN) with
// X-Linked-Etag/X-Linked-Size (or to <cdnBase>/<sha256> when `cdnBase` is given, e.g. an nginx serving the
// bytes for a benchmark; stats and faults then cover the hub's redirects only). With `token` set every hub request needs `Authorization: Bearer <token>`
// (401 otherwise); the CDN never needs it. Unknown repo/revision/file -> 404 with X-Error-Code.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { serve } from "../../platform/serve.ts";
import {
  type Body,
  type Faults,
  newStats,
  type Served,
  type Stats,
  serveObject,
  sizeOf,
  statusFault,
  type Throttle,
} from "./body.ts";

export interface HubFile {
  path: string;
  body: Body;
  /** Stored in LFS (SHA-256 in the tree, served through the CDN redirect). Default: size >= 1 MiB. */
  lfs?: boolean;
  /** A hostile hub: list this as the file's `oid` (and `lfs.oid`) instead of its real digest. */
  oid?: string;
}

interface RepoFile extends Served {
  path: string;
  lfs: boolean;
  listedOid?: string;
  sha256: string;
  gitSha1: string;
}

export interface FakeHfHub {
  url: string;
  cdnUrl: string;
  throttle: Throttle;
  addRepo(repo: string, files: HubFile[], opts?: { commit?: string; revisions?: string[] }): Promise<string>;
  fault(repo: string, path: string, f: Faults): void;
  stats(repo: string, path: string): Stats;
  totalBytes(): number;
  resetStats(): void;
  tokenLeaks: number;
  /** API (revision/tree) requests served. */
  apiCalls: number;
  stop(): Promise<void>;
}

async function digests(body: Body): Promise<{ sha256: string; gitSha1: string }> {
  const s256 = createHash("sha256");
  const s1 = createHash("sha1");
  s1.update(`blob ${sizeOf(body)}\0`);
  if (body instanceof Uint8Array) {
    s256.update(body);
    s1.update(body);
  } else
    for await (const c of createReadStream(body.path)) {
      s256.update(c as Buffer);
      s1.update(c as Buffer);
    }
  return { sha256: s256.digest("hex"), gitSha1: s1.digest("hex") };
}

export async function startFakeHfHub(
  opts: { token?: string; pageSize?: number; cdnBase?: string } = {},
): Promise<FakeHfHub> {
  const repos = new Map<string, { commit: string; revisions: Set<string>; files: Map<string, RepoFile> }>();
  const byHash = new Map<string, RepoFile>();
  const throttle: Throttle = { bytesPerSec: 0 };
  const pageSize = opts.pageSize ?? 1000;
  const state = { tokenLeaks: 0, apiCalls: 0 };
  let port = 0;

  const notFound = (code: string, msg: string) =>
    new Response(JSON.stringify({ error: msg }), {
      status: 404,
      headers: { "x-error-code": code, "content-type": "application/json" },
    });

  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const p = url.pathname.split("/").map(decodeURIComponent);
      // CDN (reached as http://localhost:<port>/cdn/<sha256>): never needs, and must never get, the token.
      if (p[1] === "cdn") {
        if (req.headers.get("authorization")) state.tokenLeaks++;
        const f = byHash.get(p[2] ?? "");
        if (!f) return notFound("EntryNotFound", "no such blob");
        f.stats.requests++;
        return statusFault(f) ?? serveObject(req, f, throttle);
      }
      if (opts.token && req.headers.get("authorization") !== `Bearer ${opts.token}`)
        return new Response(JSON.stringify({ error: "Invalid credentials in Authorization header" }), {
          status: 401,
        });
      if (p[1] === "api" && p[2] === "models") {
        state.apiCalls++;
        const repo = repos.get(`${p[3]}/${p[4]}`);
        if (!repo) return notFound("RepoNotFound", "Repository not found");
        const rev = p[6] ?? "main";
        if (rev !== repo.commit && !repo.revisions.has(rev))
          return notFound("RevisionNotFound", `Invalid rev id: ${rev}`);
        if (p[5] === "revision")
          return Response.json({
            id: `${p[3]}/${p[4]}`,
            sha: repo.commit,
            siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
          });
        if (p[5] === "tree") {
          const all = [...repo.files.values()].sort((a, b) => a.path.localeCompare(b.path));
          const cursor = Number(url.searchParams.get("cursor") ?? 0);
          const page = all.slice(cursor, cursor + pageSize).map((f) => ({
            type: "file",
            path: f.path,
            size: sizeOf(f.body),
            oid: f.listedOid ?? f.gitSha1,
            ...(f.lfs
              ? { lfs: { oid: f.listedOid ?? f.sha256, size: sizeOf(f.body), pointerSize: 134 } }
              : {}),
          }));
          const headers: Record<string, string> = {};
          if (cursor + pageSize < all.length) {
            const next = new URL(url);
            next.searchParams.set("cursor", String(cursor + pageSize));
            headers.link = `<${next.toString()}>; rel="next"`;
          }
          return Response.json(page, { headers });
        }
        return notFound("EntryNotFound", "unknown api");
      }
      // /<org>/<name>/resolve/<rev>/<path...>
      if (p[3] === "resolve") {
        const repo = repos.get(`${p[1]}/${p[2]}`);
        if (!repo) return notFound("RepoNotFound", "Repository not found");
        const rev = p[4] ?? "";
        if (rev !== repo.commit && !repo.revisions.has(rev))
          return notFound("RevisionNotFound", `Invalid rev id: ${rev}`);
        const f = repo.files.get(p.slice(5).join("/"));
        if (!f) return notFound("EntryNotFound", "Entry not found");
        f.stats.requests++;
        const injected = statusFault(f);
        if (injected) return injected;
        const common = { "x-repo-commit": repo.commit };
        if (f.lfs)
          return new Response(null, {
            status: 302,
            headers: {
              ...common,
              location: `${cdnUrl}/${f.sha256}`,
              "x-linked-etag": `"${f.sha256}"`,
              "x-linked-size": String(sizeOf(f.body)),
            },
          });
        return serveObject(req, f, throttle, common);
      }
      return notFound("EntryNotFound", "not found");
    },
  });
  port = server.port;
  const cdnUrl = opts.cdnBase?.replace(/\/+$/, "") ?? `http://localhost:${port}/cdn`;

  const find = (repo: string, path: string) => {
    const f = repos.get(repo)?.files.get(path);
    if (!f) throw new Error(`fake hub: no ${repo}/${path}`);
    return f;
  };

  return {
    url: server.url,
    cdnUrl,
    throttle,
    get tokenLeaks() {
      return state.tokenLeaks;
    },
    get apiCalls() {
      return state.apiCalls;
    },
    async addRepo(repo, files, o = {}) {
      const commit =
        o.commit ?? createHash("sha1").update(`${repo}${Date.now()}${Math.random()}`).digest("hex");
      const map = new Map<string, RepoFile>();
      for (const f of files) {
        const d = await digests(f.body);
        const lfs = f.lfs ?? sizeOf(f.body) >= 1024 * 1024;
        const rf: RepoFile = {
          path: f.path,
          body: f.body,
          lfs,
          listedOid: f.oid,
          ...d,
          etag: `"${lfs ? d.sha256 : d.gitSha1}"`,
          faults: {},
          stats: newStats(),
        };
        map.set(f.path, rf);
        if (lfs) byHash.set(d.sha256, rf);
      }
      repos.set(repo, { commit, revisions: new Set(["main", ...(o.revisions ?? [])]), files: map });
      return commit;
    },
    fault(repo, path, f) {
      find(repo, path).faults = f;
    },
    stats: (repo, path) => find(repo, path).stats,
    totalBytes() {
      let n = 0;
      for (const r of repos.values()) for (const f of r.files.values()) n += f.stats.bytes;
      return n;
    },
    resetStats() {
      for (const r of repos.values()) for (const f of r.files.values()) f.stats = newStats();
    },
    stop: () => server.stop(0),
  };
}
