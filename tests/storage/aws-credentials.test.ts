// The AWS credential chain against fakes of the real endpoints on loopback: EKS Pod Identity / ECS container
// credentials, the shared files with AWS_PROFILE, IMDSv2 with its token dance, anonymous access. Each
// source downloads a private object from a fake S3 that recomputes every SigV4 signature and checks the
// session token and its expiry; a wrong or expired credential fails naming the source; no secret reaches a
// log line, an error message or a file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../../log.ts";
import { BIN, spawnProcess } from "../helpers/sidecar.ts";
import { downloadModel, makeFetchToDir } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { extraCredentials } from "../../storage/extra-config.ts";
import { containerCredentials } from "../../storage/sources/credentials/container.ts";
import { imdsCredentials } from "../../storage/sources/credentials/imds.ts";
import {
  type FakeCredentialEndpoint,
  startFakeContainerEndpoint,
  startFakeImds,
} from "../fakes/aws-credentials.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import {
  filesBelow,
  randomPayload,
  removeTempDirs,
  settings,
  sha256,
  sha256File,
  tempDir,
} from "./helpers.ts";

const POD_TOKEN = "pod-identity-token-7f3a9c";
const STATIC = { accessKeyId: "AKIASTATIC1", secretAccessKey: "static-secret-4b8e1d" };
const PROFILE = { accessKeyId: "AKIAPROFILE", secretAccessKey: "profile-secret-9c2f7a" };
const body = randomPayload(2 * 1024 * 1024 + 3);
const tuning = { connections: 2, partSize: 1024 * 1024, maxRetries: 1 };

let s3: FakeS3;
let pod: FakeCredentialEndpoint;
let imds: FakeCredentialEndpoint;
let hopLimited: FakeCredentialEndpoint;
let ttl = 3600;
const logLines: string[] = [];
const messages: string[] = [];
const downloaded: string[] = [];
const log = createLogger({ level: "debug", sink: (l) => logLines.push(l) });

beforeAll(async () => {
  s3 = startFakeS3({ credentials: [STATIC, PROFILE], publicBuckets: ["public"] });
  pod = startFakeContainerEndpoint({ token: POD_TOKEN, issue: () => s3.issue(ttl) });
  imds = startFakeImds({ role: "model-reader", issue: () => s3.issue(ttl) });
  hopLimited = startFakeImds({ role: "model-reader", issue: () => s3.issue(ttl), dropTokenRequests: true });
  for (const b of ["private", "public"]) {
    await s3.put(b, "m/config.json", randomPayload(100));
    await s3.put(b, "m/model.bin", body);
  }
});
afterAll(async () => {
  // Nothing any source handed out, nor the pod token, shows in a log line, an error message or a file.
  const secrets = [
    POD_TOKEN,
    STATIC.secretAccessKey,
    PROFILE.secretAccessKey,
    ...[pod, imds].flatMap((e) => e.issued.flatMap((c) => [c.secretAccessKey, c.sessionToken])),
  ];
  const files = await filesBelow(downloaded);
  expect(logLines.length).toBeGreaterThan(0);
  for (const s of secrets)
    for (const text of [...logLines, ...messages, ...files]) expect(text.includes(s)).toBe(false);
  await Promise.all([s3.stop(), pod.stop(), imds.stop(), hopLimited.stop()]);
  await removeTempDirs();
});

/** Download s3://<bucket>/m with the given environment; returns the model path. */
async function download(env: Record<string, string>, bucket = "private"): Promise<string> {
  const dir = await tempDir("aws");
  downloaded.push(dir);
  const r = await downloadModel({
    uri: `s3://${bucket}/m`,
    localDir: dir,
    settings: settings({ AWS_ENDPOINT_URL: s3.url, ...env }),
    tuning,
    log,
  });
  expect(await sha256File(join(r.path, "model.bin"))).toBe(sha256(body));
  return r.path;
}

/** The DownloadError a download with `env` fails with. */
async function failure(env: Record<string, string>, bucket = "private"): Promise<DownloadError> {
  const err = await download(env, bucket).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  messages.push((err as Error).message);
  return err as DownloadError;
}

async function fileWith(name: string, text: string): Promise<string> {
  const dir = await tempDir("aws-files");
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe("EKS Pod Identity / container credentials", () => {
  test("full URI + token file: the token is the Authorization, the credentials sign every request", async () => {
    const tokenFile = await fileWith("eks-pod-identity-token", `${POD_TOKEN}\n`);
    const before = pod.counts.credentials!;
    await download({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    expect(pod.counts.credentials! - before).toBe(1); // cached for the whole download
    expect(pod.heads.at(-1)).toMatchObject({ method: "GET", path: "/v1/credentials" });
    expect(pod.heads.at(-1)!.headers.authorization).toBe(POD_TOKEN);
  });

  test("relative URI resolved at the container host (overridden to loopback)", async () => {
    const before = pod.counts.credentials!;
    await download({
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/task-1",
      AIRUNTIME_AWS_CONTAINER_CREDENTIALS_HOST: pod.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: POD_TOKEN,
    });
    expect(pod.counts.credentials! - before).toBe(1);
    expect(pod.heads.at(-1)!.path).toBe("/v2/credentials/task-1");
  });

  test("a wrong token fails naming the container credentials endpoint", async () => {
    const tokenFile = await fileWith("token", "not-the-token");
    const err = await failure({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    expect(err.reason).toBe("auth");
    expect(err.message).toContain(`EKS Pod Identity / container credentials ${pod.url}`);
    expect(err.message).toContain("HTTP 401");
  });

  test("expired credentials fail (S3 ExpiredToken, not retried) naming where they came from", async () => {
    const tokenFile = await fileWith("token", POD_TOKEN);
    ttl = -60;
    try {
      const err = await failure({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      });
      expect(err.reason).toBe("auth");
      expect(err.message).toContain("expired or invalid");
      expect(err.message).toContain(`credentials from EKS Pod Identity / container credentials ${pod.url}`);
    } finally {
      ttl = 3600;
    }
  });

  test("a plain-http full URI that is not loopback or the agent's address is refused before any request", async () => {
    const err = await failure({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://10.1.2.3:8080/creds" });
    expect(err.reason).toBe("credentials");
    expect(err.message).toContain("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  });

  test("refreshed before expiry: a second fetch only inside the refresh window", async () => {
    let now = Date.now();
    const provider = containerCredentials({
      fullUri: `${pod.url}/v1/credentials`,
      relativeHost: "http://unused.invalid",
      token: POD_TOKEN,
      refreshBeforeMs: 10 * 60_000,
      now: () => now,
    });
    const before = pod.counts.credentials!;
    const a = await provider();
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    expect(pod.counts.credentials! - before).toBe(1);
    now += 51 * 60_000; // 9 minutes before the 60-minute expiry
    expect((await provider()).accessKeyId).not.toBe(a.accessKeyId);
    expect(pod.counts.credentials! - before).toBe(2);
  });
});

describe("shared files (AWS_PROFILE)", () => {
  test("a named profile from the credentials file", async () => {
    const creds = await fileWith(
      "credentials",
      `[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n\n[models]\naws_access_key_id = ${PROFILE.accessKeyId}\naws_secret_access_key = ${PROFILE.secretAccessKey}\n`,
    );
    await download({
      AWS_SHARED_CREDENTIALS_FILE: creds,
      AWS_PROFILE: "models",
      AWS_EC2_METADATA_DISABLED: "true",
    });
  });

  test("the default profile from the config file ([profile x] sections too)", async () => {
    const config = await fileWith(
      "config",
      `# comment\n[default]\nregion = us-east-1\naws_access_key_id = ${PROFILE.accessKeyId}\naws_secret_access_key = ${PROFILE.secretAccessKey}\n[profile other]\naws_access_key_id = X\n`,
    );
    await download({
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      AWS_EC2_METADATA_DISABLED: "true",
    });
  });

  test("a wrong secret fails naming the profile and file; a missing named profile is a credentials error", async () => {
    const creds = await fileWith(
      "credentials",
      `[models]\naws_access_key_id = ${PROFILE.accessKeyId}\naws_secret_access_key = wrong-secret-value\n`,
    );
    const err = await failure({ AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: "models" });
    expect(err.reason).toBe("auth");
    expect(err.message).toContain(`credentials from shared files profile 'models' (${creds}`);
    const missing = await failure({ AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: "absent" });
    expect(missing.reason).toBe("credentials");
    expect(missing.message).toContain("AWS_PROFILE 'absent'");
  });
});

describe("instance metadata (IMDSv2)", () => {
  test("token first (PUT with a TTL), then role name and credentials with the token", async () => {
    const start = imds.heads.length;
    await download({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    const calls = imds.heads.slice(start);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "PUT /latest/api/token",
      "GET /latest/meta-data/iam/security-credentials/",
      "GET /latest/meta-data/iam/security-credentials/model-reader",
    ]);
    expect(Number(calls[0]!.headers["x-aws-ec2-metadata-token-ttl-seconds"])).toBeGreaterThan(0);
    expect(calls[1]!.headers["x-aws-ec2-metadata-token"]).toBeTruthy();
    expect(imds.counts.denied).toBe(0);
  });

  test("refreshed before expiry with a new token dance", async () => {
    let now = Date.now();
    const provider = imdsCredentials({ endpoint: imds.url, now: () => now });
    const before = imds.counts.token!;
    const a = await provider();
    await provider();
    expect(imds.counts.token! - before).toBe(1);
    now += 56 * 60_000; // inside the default 5-minute window
    expect((await provider()).accessKeyId).not.toBe(a.accessKeyId);
    expect(imds.counts.token! - before).toBe(2);
  });

  test("no answer to the token PUT (hop limit 1) fails naming IMDSv2 and the hop limit; no IMDSv1 fallback", async () => {
    const err = await failure({ AWS_EC2_METADATA_SERVICE_ENDPOINT: hopLimited.url });
    expect(err.reason).toBe("credentials");
    expect(err.message).toContain("instance metadata (IMDSv2");
    expect(err.message).toContain("hop limit");
    expect(hopLimited.heads.every((h) => h.method === "PUT")).toBe(true);
  });

  test("AWS_EC2_METADATA_DISABLED: no request to the metadata service, the message lists what was tried", async () => {
    const before = imds.heads.length;
    const err = await failure({
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    expect(err.reason).toBe("credentials");
    expect(err.message).toContain("AWS_ACCESS_KEY_ID");
    expect(err.message).toContain("AWS_EC2_METADATA_DISABLED");
    expect(imds.heads.length).toBe(before);
  });
});

describe("chain order, environment keys, anonymous access", () => {
  test("environment keys come first: the container endpoint and IMDS are not asked", async () => {
    const before = pod.heads.length + imds.heads.length;
    await download({
      AWS_ACCESS_KEY_ID: STATIC.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STATIC.secretAccessKey,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: POD_TOKEN,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    });
    expect(pod.heads.length + imds.heads.length).toBe(before);
  });

  test("a wrong environment secret fails naming the environment", async () => {
    const err = await failure({
      AWS_ACCESS_KEY_ID: STATIC.accessKeyId,
      AWS_SECRET_ACCESS_KEY: "bad-secret-1234",
    });
    expect(err.reason).toBe("auth");
    expect(err.message).toContain("credentials from environment (AWS_ACCESS_KEY_ID)");
  });

  test("AIRUNTIME_S3_ANONYMOUS: a public bucket downloads unsigned; a private one fails saying so", async () => {
    const before = imds.heads.length;
    await download({ AIRUNTIME_S3_ANONYMOUS: "1", AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }, "public");
    expect(imds.heads.length).toBe(before);
    const err = await failure({ AIRUNTIME_S3_ANONYMOUS: "1" }, "private");
    expect(err.reason).toBe("auth");
    expect(err.message).toContain("unsigned: anonymous access");
  });

  test("anonymous per request (download_extra_config / credentials map)", async () => {
    const dest = join(await tempDir("anon"), "adapter");
    await makeFetchToDir({ settings: settings({ AWS_ENDPOINT_URL: s3.url }), tuning })({
      uri: "s3://public/m",
      dest,
      credentials: { anonymous: "true" },
      signal: AbortSignal.timeout(20_000),
    });
    expect(await sha256File(join(dest, "model.bin"))).toBe(sha256(body));
  });
});

describe("trust boundary", () => {
  test("an endpoint named by the request never gets the chain's credentials (no call to the agent)", async () => {
    const before = pod.heads.length;
    const err = await makeFetchToDir({
      settings: settings({
        AWS_ENDPOINT_URL: s3.url,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: POD_TOKEN,
      }),
      tuning,
    })({
      uri: "s3://private/m",
      dest: join(await tempDir("own"), "x"),
      credentials: { endpoint: s3.url.replace("127.0.0.1", "localhost") },
      signal: AbortSignal.timeout(20_000),
    }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err?.reason).toBe("credentials");
    expect(err?.message).toContain("never sent the environment's credentials");
    expect(pod.heads.length).toBe(before);
  });

  test("credential endpoints are the sidecar's own calls: the allow-list for downloads does not apply to them", async () => {
    // Only s3://private may be downloaded; the metadata service (here on loopback) still answers the
    // credential dance, while a download from that same address is refused before any connection.
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AIRUNTIME_ALLOWED_SOURCES: "s3://private" };
    await download(env);
    const before = imds.heads.length;
    const dir = await tempDir("aws-refused");
    const err = await downloadModel({
      uri: `${imds.url}/latest/meta-data/iam/security-credentials/model-reader`,
      localDir: dir,
      settings: settings({ AWS_ENDPOINT_URL: s3.url, ...env }),
      tuning,
      log,
    }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err?.reason).toBe("forbidden");
    expect(imds.heads.length).toBe(before);
  });

  test("download_extra_config.anonymous becomes the credentials map's anonymous", () => {
    expect(extraCredentials({ anonymous: true })).toEqual({ anonymous: "true" });
    expect(extraCredentials({})).toEqual({});
  });
});

describe("the binary (airuntime download)", () => {
  /** Run `airuntime download` with only `env` (HOME empty, no ~/.aws); its output is kept for the grep. */
  async function run(args: string[], env: Record<string, string>) {
    const home = await tempDir("aws-home");
    const local = await tempDir("aws-bin");
    downloaded.push(local);
    const p = spawnProcess(BIN, ["download", ...args, "--local-dir", local], {
      HOME: home,
      AWS_ENDPOINT_URL: s3.url,
      ...env,
    });
    const code = await p.exited;
    const out = p.output();
    messages.push(out);
    return { code, out, path: out.split("\n").find((l) => l.startsWith("/")) };
  }

  test("EKS Pod Identity end to end: byte-exact, exit 0; a wrong token exits 4 naming the agent", async () => {
    const tokenFile = await fileWith("token", POD_TOKEN);
    const ok = await run(["s3://private/m"], {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    expect(ok.code).toBe(0);
    expect(await sha256File(join(ok.path!, "model.bin"))).toBe(sha256(body));
    const bad = await run(["s3://private/m"], {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${pod.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: await fileWith("token", "wrong-pod-token"),
    });
    expect(bad.code).toBe(4);
    expect(bad.out).toContain("EKS Pod Identity");
    expect(bad.out).not.toContain("wrong-pod-token");
  });

  test("IMDSv2 end to end, and --no-sign-request for a public bucket (no credential endpoint asked)", async () => {
    const ok = await run(["s3://private/m"], { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    expect(ok.code).toBe(0);
    expect(await sha256File(join(ok.path!, "model.bin"))).toBe(sha256(body));
    const before = imds.heads.length;
    const pub = await run(["s3://public/m", "--no-sign-request"], {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    });
    expect(pub.code).toBe(0);
    expect(await sha256File(join(pub.path!, "model.bin"))).toBe(sha256(body));
    expect(imds.heads.length).toBe(before);
    const priv = await run(["s3://private/m", "--no-sign-request"], {});
    expect(priv.code).toBe(4);
    expect(priv.out).toContain("anonymous");
  });
});
