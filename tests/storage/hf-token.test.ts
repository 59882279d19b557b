// The Hugging Face token from the file `huggingface-cli login` writes: HF_TOKEN_PATH, $HF_HOME/token,
// ~/.cache/huggingface/token; HF_TOKEN wins. Against the fake hub, which requires the token on every hub
// request and counts any that reaches the CDN host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../../config.ts";
import { downloadModel } from "../../storage/download.ts";
import { DownloadError } from "../../storage/errors.ts";
import { type FakeHfHub, startFakeHfHub } from "../fakes/hf-hub.ts";
import { randomPayload, removeTempDirs, settings, sha256, sha256File, tempDir } from "./helpers.ts";

const TOKEN = "hf_login_token_5d1e7b9a";
const body = randomPayload(1024 * 1024 + 11);
let hub: FakeHfHub;

beforeAll(async () => {
  hub = await startFakeHfHub({ token: TOKEN });
  await hub.addRepo("org/private", [
    { path: "config.json", body: randomPayload(64) },
    { path: "model.safetensors", body, lfs: true },
  ]);
});
afterAll(async () => {
  expect(hub.tokenLeaks).toBe(0);
  await hub.stop();
  await removeTempDirs();
});

async function download(env: Record<string, string>) {
  const dir = await tempDir("hf-token");
  const r = await downloadModel({
    uri: "hf://org/private",
    localDir: dir,
    settings: settings({ HF_ENDPOINT: hub.url, ...env }),
  });
  expect(await sha256File(join(r.path, "model.safetensors"))).toBe(sha256(body));
}

async function tokenFile(dir: string, name: string, value: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const p = join(dir, name);
  await writeFile(p, `${value}\n`);
  return p;
}

describe("Hugging Face token file", () => {
  test("HF_TOKEN_PATH", async () => {
    await download({ HF_TOKEN_PATH: await tokenFile(await tempDir("hfp"), "tok", TOKEN) });
  });

  test("$HF_HOME/token, and ~/.cache/huggingface/token by default", async () => {
    const home = await tempDir("hfhome");
    await tokenFile(home, "token", TOKEN);
    await download({ HF_HOME: home });
    const user = await tempDir("home");
    await tokenFile(join(user, ".cache/huggingface"), "token", TOKEN);
    expect(loadConfig({ HOME: user }).hf.tokenFile).toBe(join(user, ".cache/huggingface/token"));
    await download({ HOME: user });
  });

  test("HF_TOKEN wins over the file; a refused token names where it came from, never its value", async () => {
    const file = await tokenFile(await tempDir("hfw"), "tok", "hf_wrong_token_value");
    await download({ HF_TOKEN: TOKEN, HF_TOKEN_PATH: file });
    const err = await download({ HF_TOKEN_PATH: file }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect(err!.reason).toBe("auth");
    expect(err!.message).toContain(`the token file ${file}`);
    expect(err!.message).not.toContain("hf_wrong_token_value");
  });

  test("no token file: the error says how to give one", async () => {
    const err = await download({ HF_TOKEN_PATH: "/nonexistent/token" }).then(
      () => undefined,
      (e: unknown) => e as DownloadError,
    );
    expect(err!.reason).toBe("auth");
    expect(err!.message).toContain("HF_TOKEN_PATH");
  });
});
