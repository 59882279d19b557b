// Which activation values are kept out of the engine registry (issue 12, F7): the values of secret-looking
// engine args and additional_config keys, and credentials inside artifact_url. The end-to-end proof (the
// engine's argv has them, no file or log line does) is tests/security-lifecycle.test.ts.
import { expect, test } from "bun:test";
import { isSecretArg, persistable } from "./secrets.ts";

test("secret-looking flags: key/token as a word part, secret/password/credential anywhere", () => {
  for (const f of [
    "--api-key",
    "--hf-token",
    "--auth_token",
    "--keys",
    "api-key",
    "--db-password",
    "--client-secret",
    "--aws-credentials",
    "--credential-file",
    "engine-arg:--api-key",
    "--api-key=inline",
  ])
    expect(`${f}: ${isSecretArg(f)}`).toBe(`${f}: true`);
  for (const f of ["--max-num-batched-tokens", "--tokenizer", "--keyframe", "--model", "--port", "--monkey"])
    expect(`${f}: ${isSecretArg(f)}`).toBe(`${f}: false`);
});

test("persistable(): secret values and URL credentials become [REDACTED], the rest is kept", () => {
  expect(
    persistable({
      artifact_url: "https://h/w?X-Amz-Signature=abc&x=1",
      engine_config: { args: { "--api-key": "k1", "--api-key=k2": "", "--max-num-batched-tokens": "512" } },
      additional_config: { "api-key": "k3", "engine-arg:--db-password": "p", "engine-arg:--port": "1" },
    }),
  ).toEqual({
    artifact_url: "https://h/w?X-Amz-Signature=[REDACTED]&x=1",
    engine_config: {
      args: { "--api-key": "[REDACTED]", "--api-key=[REDACTED]": "", "--max-num-batched-tokens": "512" },
    },
    additional_config: {
      "api-key": "[REDACTED]",
      "engine-arg:--db-password": "[REDACTED]",
      "engine-arg:--port": "1",
    },
  });
});
