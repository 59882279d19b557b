// Fakes of the AWS credential endpoints a pod talks to, on 127.0.0.1 port 0, issuing temporary credentials
// that a fake S3 accepts (FakeS3.issue):
//   - container credentials (EKS Pod Identity agent / ECS): GET <any path> with `Authorization: <token>`
//     -> {AccessKeyId, SecretAccessKey, Token, Expiration}; a wrong token is 401.
//   - IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds -> session token; GET
//     /latest/meta-data/iam/security-credentials/ -> role name, .../<role> -> credentials JSON (Code Success).
//     Without a valid session token (IMDSv1 style) every GET is 401, as on an instance that requires v2.
//     `dropTokenRequests` leaves the PUT unanswered, as a hop limit of 1 does for a container.
import { randomBytes } from "node:crypto";
import { serve } from "../../platform/serve.ts";
import type { IssuedCredentials } from "./s3.ts";

export interface FakeCredentialEndpoint {
  url: string;
  /** Requests by kind: "token", "role", "credentials", "denied". */
  counts: Record<string, number>;
  /** Headers of every request received (to check what the client sent). */
  heads: Array<{ method: string; path: string; headers: Record<string, string> }>;
  /** Credentials handed out, newest last. */
  issued: IssuedCredentials[];
  stop(): Promise<void>;
}

type Issue = () => IssuedCredentials;

function credentialsJson(c: IssuedCredentials, extra: Record<string, string> = {}): Response {
  return Response.json({
    ...extra,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: new Date(c.expires).toISOString(),
  });
}

function recorder() {
  const heads: FakeCredentialEndpoint["heads"] = [];
  return {
    heads,
    record(req: Request) {
      heads.push({
        method: req.method,
        path: new URL(req.url).pathname,
        headers: Object.fromEntries(req.headers.entries()),
      });
    },
  };
}

/** The EKS Pod Identity agent / ECS credentials endpoint. */
export function startFakeContainerEndpoint(o: { token: string; issue: Issue }): FakeCredentialEndpoint {
  const counts: Record<string, number> = { credentials: 0, denied: 0 };
  const issued: IssuedCredentials[] = [];
  const { heads, record } = recorder();
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      record(req);
      if (req.method !== "GET" || req.headers.get("authorization") !== o.token) {
        counts.denied!++;
        return Response.json({ message: "invalid authorization token" }, { status: 401 });
      }
      counts.credentials!++;
      const c = o.issue();
      issued.push(c);
      return credentialsJson(c);
    },
  });
  return { url: server.url, counts, heads, issued, stop: () => server.stop(0) };
}

/** An EC2 instance metadata service that requires IMDSv2. */
export function startFakeImds(o: {
  role: string;
  issue: Issue;
  dropTokenRequests?: boolean;
}): FakeCredentialEndpoint {
  const counts: Record<string, number> = { token: 0, role: 0, credentials: 0, denied: 0 };
  const issued: IssuedCredentials[] = [];
  const tokens = new Set<string>();
  const { heads, record } = recorder();
  const base = "/latest/meta-data/iam/security-credentials/";
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      record(req);
      const path = new URL(req.url).pathname;
      if (path === "/latest/api/token") {
        const ttl = Number(req.headers.get("x-aws-ec2-metadata-token-ttl-seconds"));
        if (req.method !== "PUT" || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
          counts.denied!++;
          return new Response("", { status: 400 });
        }
        if (o.dropTokenRequests) return new Promise<Response>(() => {}); // never answered
        counts.token!++;
        const t = randomBytes(24).toString("base64");
        tokens.add(t);
        return new Response(t);
      }
      if (req.method !== "GET" || !tokens.has(req.headers.get("x-aws-ec2-metadata-token") ?? "")) {
        counts.denied!++;
        return new Response("", { status: 401 });
      }
      if (path === base) {
        counts.role!++;
        return new Response(o.role);
      }
      if (path === `${base}${o.role}`) {
        counts.credentials!++;
        const c = o.issue();
        issued.push(c);
        return credentialsJson(c, { Code: "Success", Type: "AWS-HMAC" });
      }
      return new Response("", { status: 404 });
    },
  });
  return { url: server.url, counts, heads, issued, stop: () => server.stop(0) };
}
