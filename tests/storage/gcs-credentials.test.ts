// gs:// over the JSON API with OAuth: a service-account key (GOOGLE_APPLICATION_CREDENTIALS, a request's
// gcp_service_account_json) signed into an RS256 JWT and exchanged at a fake token endpoint that verifies
// the signature; the metadata server (GKE Workload Identity) through GCE_METADATA_HOST; anonymous public
// buckets. A fake GCS checks the bearer token on every request; listing pages, ranged reads pinned to the
// generation. A wrong or expired credential fails naming its source; no secret in any log line, message or
// file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../../log.ts";
import { resolveCredentials } from "../../lora/credentials.ts";
import { downloadModel, makeFetchToDir } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import {
  parseServiceAccount,
  serviceAccountToken,
} from "../../storage/sources/credentials/gcp-service-account.ts";
import { type FakeGcs, startFakeGcs } from "../fakes/gcs.ts";
import { BIN, spawnProcess } from "../helpers/sidecar.ts";
import {
  filesBelow,
  randomPayload,
  removeTempDirs,
  settings,
  sha256,
  sha256File,
  tempDir,
} from "./helpers.ts";

const EMAIL = "model-reader@proj.iam.gserviceaccount.com";
const keyPair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
const good = keyPair();
const other = keyPair();
const body = randomPayload(3 * 1024 * 1024 + 5);
const tuning = { connections: 3, partSize: 1024 * 1024, maxRetries: 1 };

let gcs: FakeGcs;
let expiring: FakeGcs;
const logLines: string[] = [];
const messages: string[] = [];
const dirs: string[] = [];
const log = createLogger({ level: "debug", sink: (l) => logLines.push(l) });

const saJson = (tokenUri: string, privateKey = good.privateKey) =>
  JSON.stringify({
    type: "service_account",
    project_id: "proj",
    private_key_id: "k1",
    private_key: privateKey,
    client_email: EMAIL,
    token_uri: tokenUri,
  });

async function fill(g: FakeGcs) {
  for (const b of ["private", "public"]) {
    g.put(b, "m/config.json", randomPayload(90));
    g.put(b, "m/tokenizer.json", randomPayload(300));
    g.put(b, "m/weights/model.bin", body);
  }
}

beforeAll(async () => {
  gcs = startFakeGcs({
    serviceAccount: { clientEmail: EMAIL, publicKeyPem: good.publicKey },
    publicBuckets: ["public"],
    pageSize: 2,
  });
  expiring = startFakeGcs({
    serviceAccount: { clientEmail: EMAIL, publicKeyPem: good.publicKey },
    tokenTtlSeconds: -5,
  });
  await fill(gcs);
  await fill(expiring);
});
afterAll(async () => {
  const secrets = [
    good.privateKey.split("\n")[5]!,
    other.privateKey.split("\n")[5]!,
    ...gcs.issued,
    ...expiring.issued,
  ];
  const files = await filesBelow(dirs);
  expect(logLines.length).toBeGreaterThan(0);
  for (const s of secrets)
    for (const t of [...logLines, ...messages, ...files]) expect(t.includes(s)).toBe(false);
  await Promise.all([gcs.stop(), expiring.stop()]);
  await removeTempDirs();
});

async function download(env: Record<string, string>, bucket = "private", g = gcs): Promise<string> {
  const dir = await tempDir("gcs");
  dirs.push(dir);
  const r = await downloadModel({
    uri: `gs://${bucket}/m`,
    localDir: dir,
    settings: settings({ GCS_ENDPOINT: g.url, ...env }),
    tuning,
    log,
  });
  expect(r.files).toBe(3);
  expect(await sha256File(join(r.path, "weights/model.bin"))).toBe(sha256(body));
  return r.path;
}

async function failure(env: Record<string, string>, bucket = "private", g = gcs): Promise<DownloadError> {
  const err = await download(env, bucket, g).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  messages.push((err as Error).message);
  return err as DownloadError;
}

async function keyFile(json: string): Promise<string> {
  const p = join(await tempDir("gcs-key"), "sa.json");
  await writeFile(p, json);
  return p;
}

describe("service account (GOOGLE_APPLICATION_CREDENTIALS)", () => {
  test("JWT exchanged once at token_uri; every storage request carries the token; pages and ranges", async () => {
    const file = await keyFile(saJson(gcs.tokenUri));
    const before = { ...gcs.counts };
    const auths = gcs.authorizations.length;
    await download({ GOOGLE_APPLICATION_CREDENTIALS: file });
    expect(gcs.counts.token! - before.token!).toBe(1);
    expect(gcs.counts.list! - before.list!).toBe(2); // 3 objects, 2 per page
    expect(gcs.counts.media! - before.media!).toBeGreaterThanOrEqual(4); // 3 MiB file in 1 MiB ranges
    const sent = gcs.authorizations.slice(auths);
    expect(sent.every((a) => a === `Bearer ${gcs.issued.at(-1)}`)).toBe(true);
    expect(gcs.counts.denied! - before.denied!).toBe(0);
  });

  test("the access token is reused, and refreshed inside the 5 minutes before it expires", async () => {
    let now = Date.now();
    const key = parseServiceAccount(saJson(gcs.tokenUri), "test key");
    const provider = serviceAccountToken({ key: async () => key, where: "test key", now: () => now });
    const before = gcs.counts.token!;
    const a = await provider();
    expect((await provider()).token).toBe(a.token);
    expect(gcs.counts.token! - before).toBe(1);
    now += 56 * 60_000; // the fake's tokens live 60 minutes
    expect((await provider()).token).not.toBe(a.token);
    expect(gcs.counts.token! - before).toBe(2);
  });

  test("AIRUNTIME_GCS_TOKEN_URI replaces the key's token_uri", async () => {
    const file = await keyFile(saJson("https://oauth2.googleapis.com/token"));
    const before = gcs.counts.token!;
    await download({ GOOGLE_APPLICATION_CREDENTIALS: file, AIRUNTIME_GCS_TOKEN_URI: gcs.tokenUri });
    expect(gcs.counts.token! - before).toBe(1);
  });

  test("a key the token endpoint does not know fails naming the service account and the key file", async () => {
    const file = await keyFile(saJson(gcs.tokenUri, other.privateKey));
    const err = await failure({ GOOGLE_APPLICATION_CREDENTIALS: file });
    expect(err.reason).toBe("auth");
    expect(err.message).toContain(`service account ${EMAIL} (GOOGLE_APPLICATION_CREDENTIALS ${file}`);
    expect(err.message).toContain("refused the key");
  });

  test("an expired access token fails naming where it came from", async () => {
    const file = await keyFile(saJson(expiring.tokenUri));
    const err = await failure({ GOOGLE_APPLICATION_CREDENTIALS: file }, "private", expiring);
    expect(err.reason).toBe("auth");
    expect(err.message).toContain(`credentials from service account ${EMAIL}`);
  });

  test("a request's gcp_service_account_json (AIBrix's key) is used for that download", async () => {
    const dest = join(await tempDir("gcs-req"), "adapter");
    dirs.push(dest);
    const before = gcs.counts.token!;
    await makeFetchToDir({ settings: settings({ GCS_ENDPOINT: gcs.url }), tuning })({
      uri: "gs://private/m/weights",
      dest,
      credentials: { gcp_service_account_json: saJson(gcs.tokenUri) },
      signal: AbortSignal.timeout(20_000),
    });
    expect(await sha256File(join(dest, "model.bin"))).toBe(sha256(body));
    expect(gcs.counts.token! - before).toBe(1);
  });
});

test("a request key's token_uri is a request endpoint: the allow-list and the link-local rule apply", async () => {
  const before = gcs.counts.token!;
  for (const [allowed, tokenUri, refusal] of [
    ["gs", gcs.tokenUri, /AIRUNTIME_ALLOWED_SOURCES/],
    [undefined, "http://169.254.169.254/token", /link-local \/ metadata address/],
  ] as const) {
    const err = await makeFetchToDir({
      settings: settings({ GCS_ENDPOINT: gcs.url, AIRUNTIME_ALLOWED_SOURCES: allowed }),
      tuning,
    })({
      uri: "gs://private/m/weights",
      dest: join(await tempDir("gcs-tokuri"), "adapter"),
      credentials: { gcp_service_account_json: saJson(tokenUri) },
      signal: AbortSignal.timeout(20_000),
    }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect(err!.message).toMatch(refusal);
    expect(err!.message).toContain("token_uri");
  }
  expect(gcs.counts.token!).toBe(before);
});

test("a LoRA credentials_secret directory holding gcp_service_account_json (a mounted Secret)", async () => {
  const root = await tempDir("gcs-secrets");
  await mkdir(join(root, "gcs-reader"));
  await writeFile(join(root, "gcs-reader", "gcp_service_account_json"), saJson(gcs.tokenUri));
  const credentials = await resolveCredentials({ credentials_secret: "gcs-reader" }, root);
  const dest = join(await tempDir("gcs-lora"), "adapter");
  dirs.push(dest);
  await makeFetchToDir({ settings: settings({ GCS_ENDPOINT: gcs.url }), tuning })({
    uri: "gcs://private/m/weights",
    dest,
    credentials,
    signal: AbortSignal.timeout(20_000),
  });
  expect(await sha256File(join(dest, "model.bin"))).toBe(sha256(body));
});

describe("metadata server, anonymous, and the trust boundary", () => {
  test("GKE Workload Identity through the metadata server (Metadata-Flavor: Google)", async () => {
    const before = gcs.counts.metadata!;
    await download({ GCE_METADATA_HOST: gcs.metadataHost });
    expect(gcs.counts.metadata! - before).toBe(1);
  });

  test("AIRUNTIME_GCS_ANONYMOUS: a public bucket without a token; a private one fails saying so", async () => {
    const before = gcs.counts.metadata! + gcs.counts.token!;
    await download({ AIRUNTIME_GCS_ANONYMOUS: "1", GCE_METADATA_HOST: gcs.metadataHost }, "public");
    expect(gcs.counts.metadata! + gcs.counts.token!).toBe(before);
    const err = await failure({ AIRUNTIME_GCS_ANONYMOUS: "1" });
    expect(err.reason).toBe("auth");
    expect(err.message).toContain("anonymous access");
  });

  test("nothing configured and the metadata server disabled: a credentials error listing what was tried", async () => {
    const err = await failure({ AIRUNTIME_GCE_METADATA_DISABLED: "1" });
    expect(err.reason).toBe("credentials");
    expect(err.message).toContain("GOOGLE_APPLICATION_CREDENTIALS");
  });

  test("an endpoint named by the request never gets the environment's service account", async () => {
    const file = await keyFile(saJson(gcs.tokenUri));
    const before = gcs.counts.token!;
    const err = await makeFetchToDir({
      settings: settings({
        GCS_ENDPOINT: "https://storage.googleapis.com",
        GOOGLE_APPLICATION_CREDENTIALS: file,
      }),
      tuning,
    })({
      uri: "gs://private/m",
      dest: join(await tempDir("gcs-own"), "x"),
      credentials: { endpoint: gcs.url },
      signal: AbortSignal.timeout(20_000),
    }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err?.reason).toBe("credentials");
    expect(err?.message).toContain("never sent the environment's Google credentials");
    expect(gcs.counts.token!).toBe(before);
  });

  test("the binary: service account end to end and --no-sign-request, outputs kept for the secret grep", async () => {
    const file = await keyFile(saJson(gcs.tokenUri));
    for (const [args, env] of [
      [["gs://private/m"], { GOOGLE_APPLICATION_CREDENTIALS: file }],
      [["gs://public/m", "--no-sign-request"], {}],
    ] as const) {
      const local = await tempDir("gcs-bin");
      dirs.push(local);
      const p = spawnProcess(BIN, ["download", ...args, "--local-dir", local], {
        HOME: local,
        GCS_ENDPOINT: gcs.url,
        ...env,
      });
      const code = await p.exited;
      const out = p.output();
      messages.push(out);
      expect(code).toBe(0);
      const path = out.split("\n").find((l) => l.startsWith("/"))!;
      expect(await sha256File(join(path, "weights/model.bin"))).toBe(sha256(body));
    }
  });
});
