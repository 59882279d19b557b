// S3 web identity against a fake STS (AssumeRoleWithWebIdentity, refreshed before expiry), TOS and GCS
// (XML API with HMAC keys, ListObjects v1) through the same signed, verified path; credential maps as the
// AIBrix controller sends them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadModel, makeFetchToDir } from "../../storage/download.ts";
import { webIdentityCredentials } from "../../storage/sources/credentials/web-identity.ts";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { randomPayload, settings, sha256, sha256File, tempDir, removeTempDirs } from "./helpers.ts";

let s3: FakeS3;
const body = randomPayload(3 * 1024 * 1024 + 7);
const tuning = { connections: 4, partSize: 1024 * 1024 };

beforeAll(async () => {
  s3 = startFakeS3({
    credentials: [
      { accessKeyId: "TOSAK", secretAccessKey: "tos-secret-1" },
      { accessKeyId: "GOOGHMAC", secretAccessKey: "gcs-hmac-secret" },
    ],
    maxKeys: 2,
    sts: { roleArn: "arn:aws:iam::123:role/models", token: "projected-sa-token", ttlSeconds: 3600 },
  });
  for (const n of ["a.json", "b.json", "c.json", "w/model.bin"])
    await s3.put("bkt", `m/${n}`, n.endsWith(".bin") ? body : randomPayload(100));
});
afterAll(() => s3.stop());

/** Download s3://bkt/m into a fresh dir with web-identity settings whose token file holds `token`. */
async function webIdentityDownload(dirName: string, token: string) {
  const dir = await tempDir(dirName);
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, token);
  return downloadModel({
    uri: "s3://bkt/m",
    localDir: dir,
    settings: settings({
      AWS_ENDPOINT_URL: s3.url,
      AWS_ROLE_ARN: "arn:aws:iam::123:role/models",
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_STS_ENDPOINT: s3.url,
    }),
    tuning,
  });
}

describe("credentials and S3-compatible stores", () => {
  test("S3 with web identity: STS exchange, session token on every request, continuation pages", async () => {
    const before = s3.counts.sts!;
    const r = await webIdentityDownload("wi", "projected-sa-token\n");
    expect(r.files).toBe(4);
    expect(s3.counts.sts! - before).toBe(1);
    expect(await sha256File(join(r.path, "w/model.bin"))).toBe(sha256(body));
  });

  test("web identity credentials are cached and refreshed before they expire", async () => {
    const dir = await tempDir("wi2");
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, "projected-sa-token");
    let now = Date.now();
    const provider = webIdentityCredentials({
      roleArn: "arn:aws:iam::123:role/models",
      tokenFile,
      stsEndpoint: s3.url,
      refreshBeforeMs: 10 * 60_000,
      now: () => now,
    });
    const before = s3.counts.sts!;
    const a = await provider();
    const b = await provider();
    expect(b.accessKeyId).toBe(a.accessKeyId);
    expect(s3.counts.sts! - before).toBe(1);
    now += 51 * 60_000; // 9 minutes before the 60-minute expiry: inside the refresh window
    const c = await provider();
    expect(c.accessKeyId).not.toBe(a.accessKeyId);
    expect(s3.counts.sts! - before).toBe(2);
  });

  test("a wrong web identity token is an auth failure naming the role", async () => {
    let err: Error | undefined;
    await webIdentityDownload("wi3", "stolen").catch((e) => (err = e));
    expect(err?.message).toContain("arn:aws:iam::123:role/models");
    expect(err?.message).not.toContain("stolen");
  });

  test("TOS from the environment and from an AIBrix credentials map", async () => {
    const dir = await tempDir("tos");
    const r = await downloadModel({
      uri: "tos://bkt/m",
      localDir: dir,
      settings: settings({
        TOS_ACCESS_KEY: "TOSAK",
        TOS_SECRET_KEY: "tos-secret-1",
        TOS_ENDPOINT: s3.url,
        TOS_REGION: "cn-beijing",
      }),
      tuning,
    });
    expect(r.source).toBe("tos");
    expect(await sha256File(join(r.path, "w/model.bin"))).toBe(sha256(body));
    const dest = join(dir, "adapter");
    await makeFetchToDir({ settings: settings({}), tuning })({
      uri: "tos://bkt/m/w",
      dest,
      credentials: {
        TOS_ACCESS_KEY: "TOSAK",
        TOS_SECRET_KEY: "tos-secret-1",
        tos_endpoint: s3.url,
        tos_region: "cn-beijing",
      },
      signal: AbortSignal.timeout(20_000),
    });
    expect(await sha256File(join(dest, "model.bin"))).toBe(sha256(body));
  });

  test("virtual-hosted addressing (bucket in the Host name) when configured", async () => {
    const dir = await tempDir("vhost");
    const r = await downloadModel({
      uri: "tos://bkt/m",
      localDir: dir,
      settings: settings({
        TOS_ACCESS_KEY: "TOSAK",
        TOS_SECRET_KEY: "tos-secret-1",
        TOS_ENDPOINT: s3.url.replace("127.0.0.1", "localhost"),
        AIRUNTIME_S3_ADDRESSING: "virtual",
      }),
      tuning,
    });
    expect(await sha256File(join(r.path, "w/model.bin"))).toBe(sha256(body));
  });

  test("GCS with HMAC keys (XML API, ListObjects v1 markers)", async () => {
    const dir = await tempDir("gcs");
    const before = s3.counts.list!;
    const r = await downloadModel({
      uri: "gs://bkt/m",
      localDir: dir,
      settings: settings({
        GCS_ACCESS_KEY_ID: "GOOGHMAC",
        GCS_SECRET_ACCESS_KEY: "gcs-hmac-secret",
        GCS_ENDPOINT: s3.url,
      }),
      tuning,
    });
    expect(r.files).toBe(4);
    expect(s3.counts.list! - before).toBeGreaterThanOrEqual(2); // 2 keys per page
    expect(await sha256File(join(r.path, "w/model.bin"))).toBe(sha256(body));
  });
});

afterAll(() => removeTempDirs());
