// A fake Google Cloud Storage (JSON API), OAuth token endpoint and GCE metadata server, on 127.0.0.1 port 0.
//
//   const gcs = startFakeGcs({ serviceAccount: { clientEmail, publicKeyPem }, publicBuckets: ["pub"], pageSize: 2 });
//   gcs.put("bkt", "m/model.bin", bytes);
//   service-account JSON: { type: "service_account", client_email, private_key, token_uri: gcs.tokenUri }
//   GCS endpoint: gcs.url; metadata host: gcs.metadataHost (GCE_METADATA_HOST)
//
// Token endpoint (POST /token): grant_type jwt-bearer; the assertion's RS256 signature is verified with the
// service account's public key, iss = client_email, aud = the token URI, exp in the future, the
// devstorage scope; answers {access_token, expires_in, token_type}. Metadata server (its own port):
// GET /computeMetadata/v1/instance/service-accounts/default/token needs `Metadata-Flavor: Google` and
// answers with it. Storage: GET /storage/v1/b/<b>/o?prefix=&pageToken= (pageSize items per page),
// GET /storage/v1/b/<b>/o/<name> (metadata: size, md5Hash base64, generation) and ?alt=media with Range and
// ifGenerationMatch (412). Every storage request needs a live `Authorization: Bearer <issued token>` (401)
// unless its bucket is public; `tokenTtlSeconds` issues tokens that are already expired when negative.
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { serve } from "../../platform/serve.ts";
import { newStats, type Served, serveObject, type Throttle } from "./body.ts";

export interface FakeGcsOptions {
  serviceAccount?: { clientEmail: string; publicKeyPem: string };
  publicBuckets?: string[];
  pageSize?: number;
  tokenTtlSeconds?: number;
}

export interface FakeGcs {
  url: string;
  tokenUri: string;
  /** host:port for GCE_METADATA_HOST. */
  metadataHost: string;
  counts: Record<string, number>;
  /** Tokens handed out (token endpoint and metadata server). */
  issued: string[];
  /** Authorization headers of storage requests, for checks. */
  authorizations: Array<string | null>;
  put(bucket: string, name: string, body: Uint8Array): void;
  stop(): Promise<void>;
}

const jsonError = (status: number, message: string) =>
  Response.json({ error: { code: status, message } }, { status });

export function startFakeGcs(o: FakeGcsOptions = {}): FakeGcs {
  const buckets = new Map<string, Map<string, Served & { generation: string; md5: string }>>();
  const tokens = new Map<string, number>();
  const counts: Record<string, number> = {
    token: 0,
    metadata: 0,
    list: 0,
    get: 0,
    media: 0,
    denied: 0,
    tokenDenied: 0,
  };
  const issued: string[] = [];
  const authorizations: Array<string | null> = [];
  const throttle: Throttle = { bytesPerSec: 0 };
  let generation = 1_700_000_000_000_000;
  const ttl = () => o.tokenTtlSeconds ?? 3600;

  const issue = () => {
    const t = `ya29.${randomBytes(24).toString("base64url")}`;
    tokens.set(t, Date.now() + ttl() * 1000);
    issued.push(t);
    return Response.json({ access_token: t, expires_in: ttl(), token_type: "Bearer" });
  };

  function exchange(form: URLSearchParams, tokenUri: string): Response {
    const deny = (why: string) => {
      counts.tokenDenied!++;
      return Response.json({ error: "invalid_grant", error_description: why }, { status: 400 });
    };
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return deny("grant_type");
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3 || !o.serviceAccount) return deny("malformed assertion");
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString()) as { alg?: string };
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString()) as Record<string, unknown>;
    const ok = verify(
      "sha256",
      Buffer.from(`${parts[0]}.${parts[1]}`),
      createPublicKey(o.serviceAccount.publicKeyPem),
      Buffer.from(parts[2]!, "base64url"),
    );
    if (header.alg !== "RS256" || !ok) return deny("Invalid JWT Signature.");
    if (claims.iss !== o.serviceAccount.clientEmail) return deny("unknown client_email");
    if (claims.aud !== tokenUri) return deny("aud must be the token URI");
    if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return deny("expired assertion");
    if (!String(claims.scope).includes("devstorage")) return deny("scope");
    counts.token!++;
    return issue();
  }

  function authorized(req: Request, bucket: string): boolean {
    const auth = req.headers.get("authorization");
    authorizations.push(auth);
    if (!auth && o.publicBuckets?.includes(bucket)) return true;
    const m = /^Bearer (.+)$/.exec(auth ?? "");
    const exp = m ? tokens.get(m[1]!) : undefined;
    return exp !== undefined && exp > Date.now();
  }

  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/token")
        return exchange(new URLSearchParams(await req.text()), `${server.url.replace(/\/$/, "")}/token`);
      const m = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
      if (!m || req.method !== "GET") return jsonError(404, "Not Found");
      const bucketName = decodeURIComponent(m[1]!);
      if (!authorized(req, bucketName)) {
        counts.denied!++;
        return jsonError(401, "Invalid Credentials");
      }
      const bucket = buckets.get(bucketName);
      if (!bucket) return jsonError(404, "The specified bucket does not exist.");
      const meta = (name: string, x: Served & { generation: string; md5: string }) => ({
        kind: "storage#object",
        name,
        bucket: bucketName,
        size: String((x.body as Uint8Array).length),
        md5Hash: x.md5,
        generation: x.generation,
        etag: x.etag,
      });
      if (m[2] === undefined) {
        counts.list!++;
        const prefix = url.searchParams.get("prefix") ?? "";
        const after = url.searchParams.get("pageToken") ?? "";
        const names = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
        const page = names.slice(0, o.pageSize ?? 1000);
        return Response.json({
          kind: "storage#objects",
          items: page.map((n) => meta(n, bucket.get(n)!)),
          ...(names.length > page.length ? { nextPageToken: page.at(-1) } : {}),
        });
      }
      const name = decodeURIComponent(m[2]);
      const obj = bucket.get(name);
      if (!obj) return jsonError(404, "No such object");
      const gen = url.searchParams.get("ifGenerationMatch");
      if (gen && gen !== obj.generation) return jsonError(412, "Precondition Failed");
      if (url.searchParams.get("alt") !== "media") {
        counts.get!++;
        return Response.json(meta(name, obj));
      }
      counts.media!++;
      obj.stats.requests++;
      return serveObject(req, obj, throttle);
    },
  });

  const metadata = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const flavor = { "metadata-flavor": "Google" };
      if (req.headers.get("metadata-flavor") !== "Google")
        return new Response("Missing Metadata-Flavor:Google header.", { status: 403, headers: flavor });
      if (url.pathname !== "/computeMetadata/v1/instance/service-accounts/default/token")
        return new Response("not found", { status: 404, headers: flavor });
      counts.metadata!++;
      const res = issue();
      res.headers.set("metadata-flavor", "Google");
      return res;
    },
  });

  return {
    url: server.url.replace(/\/$/, ""),
    tokenUri: `${server.url.replace(/\/$/, "")}/token`,
    metadataHost: new URL(metadata.url).host,
    counts,
    issued,
    authorizations,
    put(bucket, name, body) {
      let b = buckets.get(bucket);
      if (!b) {
        b = new Map();
        buckets.set(bucket, b);
      }
      const md5 = createHash("md5").update(body);
      b.set(name, {
        body,
        etag: `"${randomBytes(6).toString("hex")}"`,
        faults: {},
        stats: newStats(),
        generation: String(generation++),
        md5: md5.digest("base64"),
      });
    },
    stop: async () => {
      await server.stop(0);
      await metadata.stop(0);
    },
  };
}
