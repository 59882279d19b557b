// A credential file that a setting names but that cannot be read: each provider fails before any network
// call with a `credentials` error naming the setting and the path (readCredentialFile).
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../config.ts";
import { DownloadError } from "../../errors.ts";
import { containerCredentials } from "./container.ts";
import { gcpTokenChain } from "./gcp-chain.ts";
import { webIdentityCredentials } from "./web-identity.ts";

async function failure(p: () => Promise<unknown>): Promise<DownloadError> {
  const e = await p().then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DownloadError);
  return e as DownloadError;
}

test("an unreadable token or key file is a credentials error naming the setting and the path", async () => {
  const dir = await mkdtemp(join(tmpdir(), "airuntime-credfiles-"));
  const missing = join(dir, "missing");
  try {
    const container = await failure(
      containerCredentials({
        fullUri: "http://127.0.0.1:9/creds",
        relativeHost: "http://169.254.170.2",
        tokenFile: missing,
      }),
    );
    expect(container.reason).toBe("credentials");
    expect(container.message).toStartWith("EKS Pod Identity / container credentials http://127.0.0.1:9: ");
    expect(container.message).toContain(`cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${missing}: `);
    expect(container.message).toContain("ENOENT");

    const web = await failure(
      webIdentityCredentials({
        roleArn: "arn:aws:iam::123456789012:role/r",
        tokenFile: missing,
        stsEndpoint: "http://127.0.0.1:9/",
      }),
    );
    expect(web.reason).toBe("credentials");
    expect(web.message).toStartWith("web identity (role arn:aws:iam::123456789012:role/r at STS ");
    expect(web.message).toContain(`cannot read AWS_WEB_IDENTITY_TOKEN_FILE ${missing}: `);

    const gcs = loadConfig({ GOOGLE_APPLICATION_CREDENTIALS: missing }).gcs;
    const google = await failure(gcpTokenChain(gcs, "gs://b/m", { envAllowed: true }));
    expect(google.reason).toBe("credentials");
    expect(google.message).toStartWith(`cannot read GOOGLE_APPLICATION_CREDENTIALS ${missing}: `);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
