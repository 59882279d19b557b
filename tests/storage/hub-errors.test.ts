// Issue 18: a hub refusal says whether the repository, the revision or the token is wrong, and names the
// hub (HF_ENDPOINT); a hub that cannot be reached is named with the variable it came from.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { downloadModel } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { freePort } from "../helpers/ports.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { removeTempDirs, settings, tempDir } from "./helpers.ts";

let hub: FakeHfHub;
let privateHub: FakeHfHub;
beforeAll(async () => {
  hub = await startFakeHfHub();
  await hub.addRepo("org/model", [{ path: "config.json", body: new TextEncoder().encode("{}") }]);
  privateHub = await startFakeHfHub({ token: "hf_right_token" });
  await privateHub.addRepo("org/private", [{ path: "config.json", body: new TextEncoder().encode("{}") }]);
});
afterAll(async () => {
  await hub.stop();
  await privateHub.stop();
  await removeTempDirs();
});

async function failure(uri: string, env: Record<string, string>): Promise<DownloadError> {
  const localDir = await tempDir("hub-errors");
  try {
    await downloadModel({ uri, localDir, settings: settings(env), tuning: { maxRetries: 0 } });
  } catch (e) {
    expect(e).toBeInstanceOf(DownloadError);
    return e as DownloadError;
  }
  throw new Error(`${uri} downloaded`);
}

test("an unknown repository: not_found, says repository, names the hub and HF_ENDPOINT", async () => {
  const e = await failure("hf://org/nope", { HF_ENDPOINT: hub.url });
  expect(e.reason).toBe("not_found");
  expect(e.message).toContain("repository org/nope not found");
  expect(e.message).toContain(`${hub.url.replace(/\/+$/, "")} (HF_ENDPOINT)`);
  expect(e.message).toContain("set HF_TOKEN");
});

test("an unknown revision of a repository that exists: says revision, not repository", async () => {
  const e = await failure("hf://org/model@no-such-branch", { HF_ENDPOINT: hub.url });
  expect(e.reason).toBe("not_found");
  expect(e.message).toContain("revision 'no-such-branch' not found in org/model");
  expect(e.message).toContain("the repository exists");
});

test("a wrong token: auth, says the token is refused (not the repository)", async () => {
  const e = await failure("hf://org/private", { HF_ENDPOINT: privateHub.url, HF_TOKEN: "hf_wrong_token" });
  expect(e.reason).toBe("auth");
  expect(e.message).toContain("refused the token");
  expect(e.message).not.toContain("hf_wrong_token");
  const none = await failure("hf://org/private", { HF_ENDPOINT: privateHub.url });
  expect(none.reason).toBe("auth");
  expect(none.message).toContain("set HF_TOKEN");
});

test("a hub nobody listens on: unreachable, naming the endpoint and HF_ENDPOINT", async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const e = await failure("hf://org/model", { HF_ENDPOINT: endpoint });
  expect(e.message).toContain(endpoint);
  expect(e.message).toContain("HF_ENDPOINT");
});
