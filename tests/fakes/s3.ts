// A fault-injecting fake S3 (and STS) for tests, in process on 127.0.0.1, port 0.
//
//   const s3 = startFakeS3({ credentials: [{ accessKeyId: "AK", secretAccessKey: "SK" }] });
//   s3.put("bkt", "models/m/config.json", bytes);              // or { path, size } for a file on disk
//   s3.fault("bkt", "models/m/big.bin", { reset: { bytes: 1 << 20, times: 2 } });
//   ... AWS_ENDPOINT_URL=s3.url AWS_ACCESS_KEY_ID=AK AWS_SECRET_ACCESS_KEY=SK, URI s3://bkt/models/m
//   s3.stats("bkt", "models/m/big.bin")  -> { requests, bytes, ranged }; s3.totalBytes(); s3.resetStats()
//   s3.throttle.bytesPerSec = 20e6;     // slow every response down (to kill a client half way)
//   await s3.stop();
//
// Speaks path-style (http://host/bucket/key) and virtual-hosted (Host: bucket.<anything>) addressing;
// ListObjectsV2 (continuation tokens, `maxKeys` per page) and ListObjects v1 (markers, as GCS);
// HEAD/GET with Range and If-Match (412 when the ETag differs). Every request's SigV4 signature is
// recomputed with the known secret and must match (403 SignatureDoesNotMatch / InvalidAccessKeyId
// otherwise); `anonymous: true` turns auth off. ETags are the plain MD5 in quotes, like single-part uploads.
//
// STS: POST / with Action=AssumeRoleWithWebIdentity checks RoleArn + WebIdentityToken against `sts` and
// issues temporary credentials (valid `sts.ttlSeconds`) that S3 then accepts with x-amz-security-token.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { AwsV4Signer } from "aws4fetch";
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

export interface FakeS3Options {
  credentials?: Array<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  anonymous?: boolean;
  region?: string;
  /** Keys per ListObjects page (default 1000). */
  maxKeys?: number;
  sts?: { roleArn: string; token: string; ttlSeconds?: number };
  /** Buckets that answer unsigned requests (signed ones are still checked). */
  publicBuckets?: string[];
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expires: number;
}

export interface FakeS3 {
  url: string;
  port: number;
  throttle: Throttle;
  put(bucket: string, key: string, body: Body, opts?: { etag?: string }): Promise<string>;
  delete(bucket: string, key: string): void;
  fault(bucket: string, key: string, f: Faults): void;
  /** Answer the next `times` ListObjects requests with `code`. */
  failListing(f: { code: number; times: number }): void;
  stats(bucket: string, key: string): Stats;
  totalBytes(): number;
  resetStats(): void;
  /** Requests answered so far, by kind ("list", "head", "get", "sts", "denied"). */
  counts: Record<string, number>;
  stsIssued: Array<{ accessKeyId: string; expires: number }>;
  /** Temporary credentials this S3 accepts until `expires` (for fakes of STS, IMDS, container endpoints). */
  issue(ttlSeconds: number): IssuedCredentials;
  stop(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

async function md5Of(body: Body): Promise<string> {
  const h = createHash("md5");
  if (body instanceof Uint8Array) h.update(body);
  else for await (const c of createReadStream(body.path)) h.update(c as Buffer);
  return h.digest("hex");
}

const xmlError = (status: number, code: string, message: string) =>
  new Response(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error>`,
    {
      status,
      headers: { "content-type": "application/xml" },
    },
  );

/** Virtual-hosted: Host is <bucket>.<endpoint host>; path-style: /<bucket>/<key>. */
function addressOf(req: Request): { bucketName: string; key: string } {
  const host = (req.headers.get("host") ?? "").split(":")[0]!;
  const parts = new URL(req.url).pathname.split("/").slice(1).map(decodeURIComponent);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== "localhost" && host.includes("."))
    return { bucketName: host.split(".")[0]!, key: parts.join("/") };
  return { bucketName: parts[0] ?? "", key: parts.slice(1).join("/") };
}

export function startFakeS3(opts: FakeS3Options = {}): FakeS3 {
  const buckets = new Map<string, Map<string, Served>>();
  const secrets = new Map<string, { secret: string; session?: string; expires?: number }>();
  for (const c of opts.credentials ?? [])
    secrets.set(c.accessKeyId, { secret: c.secretAccessKey, session: c.sessionToken });
  const counts: Record<string, number> = { list: 0, head: 0, get: 0, sts: 0, denied: 0 };
  const throttle: Throttle = { bytesPerSec: 0 };
  const stsIssued: FakeS3["stsIssued"] = [];
  const region = opts.region ?? "us-east-1";
  const orphanStats = new Map<string, Stats>();

  const bucketOf = (name: string) => {
    let b = buckets.get(name);
    if (!b) {
      b = new Map();
      buckets.set(name, b);
    }
    return b;
  };

  async function authorize(req: Request): Promise<Response | null> {
    if (opts.anonymous) return null;
    const auth = req.headers.get("authorization") ?? "";
    if (!auth && opts.publicBuckets?.includes(addressOf(req).bucketName)) return null;
    const m = /Credential=([^/]+)\/[^,]+, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)/.exec(auth);
    if (!m) return xmlError(403, "AccessDenied", "missing or malformed SigV4 Authorization");
    const cred = secrets.get(m[1]!);
    if (!cred)
      return xmlError(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
      );
    if (cred.expires !== undefined && cred.expires < Date.now())
      return xmlError(400, "ExpiredToken", "The provided token has expired.");
    if (cred.session !== undefined && req.headers.get("x-amz-security-token") !== cred.session)
      return xmlError(403, "InvalidToken", "The provided token is malformed or otherwise invalid.");
    const signed = m[2]!.split(";");
    const headers: Record<string, string> = {};
    for (const h of signed) if (h !== "host") headers[h] = req.headers.get(h) ?? "";
    const signer = new AwsV4Signer({
      method: req.method,
      url: req.url,
      headers,
      accessKeyId: m[1]!,
      secretAccessKey: cred.secret,
      sessionToken: cred.session,
      service: "s3",
      region: /Credential=[^/]+\/\d+\/([^/]+)\//.exec(auth)?.[1] ?? region,
      datetime: req.headers.get("x-amz-date") ?? undefined,
    });
    const expected = /Signature=([0-9a-f]+)/.exec(await signer.authHeader())?.[1];
    if (expected !== m[3])
      return xmlError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
    return null;
  }

  function issue(ttlSeconds: number): IssuedCredentials {
    const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const secretAccessKey = randomBytes(20).toString("base64");
    const sessionToken = randomBytes(32).toString("base64");
    const expires = Date.now() + ttlSeconds * 1000;
    secrets.set(accessKeyId, { secret: secretAccessKey, session: sessionToken, expires });
    stsIssued.push({ accessKeyId, expires });
    return { accessKeyId, secretAccessKey, sessionToken, expires };
  }

  function sts(form: URLSearchParams): Response {
    counts.sts!++;
    const cfg = opts.sts;
    if (!cfg || form.get("Action") !== "AssumeRoleWithWebIdentity")
      return xmlError(400, "InvalidAction", "unsupported");
    if (form.get("RoleArn") !== cfg.roleArn || form.get("WebIdentityToken") !== cfg.token)
      return xmlError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    const {
      accessKeyId: id,
      secretAccessKey: secret,
      sessionToken: session,
      expires,
    } = issue(cfg.ttlSeconds ?? 3600);
    return new Response(
      `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${id}</AccessKeyId><SecretAccessKey>${secret}</SecretAccessKey><SessionToken>${session}</SessionToken><Expiration>${new Date(expires).toISOString()}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
      { headers: { "content-type": "text/xml" } },
    );
  }

  let listFault = { code: 0, times: 0 };
  function list(bucket: Map<string, Served>, bucketName: string, q: URLSearchParams): Response {
    counts.list!++;
    if (listFault.times > 0) {
      listFault.times--;
      return xmlError(listFault.code, "SlowDown", "injected listing failure");
    }
    const v2 = q.get("list-type") === "2";
    const prefix = q.get("prefix") ?? "";
    const max = Math.min(Number(q.get("max-keys") ?? 1000), opts.maxKeys ?? 1000);
    const after = v2
      ? q.get("continuation-token")
        ? Buffer.from(q.get("continuation-token")!, "base64url").toString()
        : (q.get("start-after") ?? "")
      : (q.get("marker") ?? "");
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = bucket.get(k)!;
        return `<Contents><Key>${esc(k)}</Key><Size>${sizeOf(o.body)}</Size><ETag>${esc(o.etag)}</ETag><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join("");
    const last = page[page.length - 1] ?? "";
    const tail = v2
      ? `<KeyCount>${page.length}</KeyCount>${truncated ? `<NextContinuationToken>${Buffer.from(last).toString("base64url")}</NextContinuationToken>` : ""}`
      : truncated
        ? `<NextMarker>${esc(last)}</NextMarker>`
        : "";
    return new Response(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${esc(bucketName)}</Name><Prefix>${esc(prefix)}</Prefix><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${tail}</ListBucketResult>`,
      { headers: { "content-type": "application/xml" } },
    );
  }

  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && (url.pathname === "/" || url.pathname === ""))
        return sts(new URLSearchParams(await req.text()));
      const denied = await authorize(req);
      if (denied) {
        counts.denied!++;
        return denied;
      }
      const { bucketName, key } = addressOf(req);
      const bucket = buckets.get(bucketName);
      if (!bucket) return xmlError(404, "NoSuchBucket", `The specified bucket does not exist: ${bucketName}`);
      if (key === "" && req.method === "GET") return list(bucket, bucketName, url.searchParams);
      const obj = bucket.get(key);
      if (!obj) {
        const s = orphanStats.get(`${bucketName}/${key}`) ?? newStats();
        orphanStats.set(`${bucketName}/${key}`, s);
        s.requests++;
        return xmlError(404, "NoSuchKey", "The specified key does not exist.");
      }
      obj.stats.requests++;
      counts[req.method === "HEAD" ? "head" : "get"]!++;
      const injected = statusFault(obj);
      if (injected) return injected;
      const ch = obj.faults.change;
      if (ch && obj.stats.bytes >= ch.bytes) {
        obj.faults.change = undefined;
        obj.body = ch.body;
        obj.etag = `"${await md5Of(ch.body)}"`;
      }
      const ifMatch = req.headers.get("if-match");
      if (ifMatch && ifMatch !== "*" && ifMatch !== obj.etag)
        return xmlError(
          412,
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
        );
      return serveObject(req, obj, throttle);
    },
  });

  return {
    url: server.url,
    port: server.port,
    throttle,
    counts,
    stsIssued,
    issue,
    async put(bucket, key, body, o = {}) {
      const etag = o.etag ?? `"${await md5Of(body)}"`;
      const prev = bucketOf(bucket).get(key);
      bucketOf(bucket).set(key, { body, etag, faults: prev?.faults ?? {}, stats: prev?.stats ?? newStats() });
      return etag;
    },
    delete(bucket, key) {
      buckets.get(bucket)?.delete(key);
    },
    failListing(f) {
      listFault = { ...f };
    },
    fault(bucket, key, f) {
      const o = buckets.get(bucket)?.get(key);
      if (!o) throw new Error(`fault: no object ${bucket}/${key}`);
      o.faults = f;
    },
    stats(bucket, key) {
      return buckets.get(bucket)?.get(key)?.stats ?? orphanStats.get(`${bucket}/${key}`) ?? newStats();
    },
    totalBytes() {
      let n = 0;
      for (const b of buckets.values()) for (const o of b.values()) n += o.stats.bytes;
      return n;
    },
    resetStats() {
      for (const b of buckets.values()) for (const o of b.values()) o.stats = newStats();
    },
    stop: () => server.stop(0),
  };
}
