import { expect, test } from "bun:test";
import { createLogger } from "./log.ts";
import { REDACTED, redactDeep, redactString, registerSecret } from "./redact.ts";

test("fields named like secrets are redacted, others kept", () => {
  const out = redactDeep({
    aws_secret_access_key: "abc",
    HF_TOKEN: "hf_x",
    authorization: "Bearer x",
    "api-key": "k",
    prompt_tokens: 12,
    nested: { credentials: { a: "b" }, name: "ok" },
  }) as Record<string, unknown>;
  expect(out.aws_secret_access_key).toBe(REDACTED);
  expect(out.HF_TOKEN).toBe(REDACTED);
  expect(out.authorization).toBe(REDACTED);
  expect(out["api-key"]).toBe(REDACTED);
  expect(out.prompt_tokens).toBe(12);
  expect((out.nested as Record<string, unknown>).credentials).toBe(REDACTED);
  expect((out.nested as Record<string, unknown>).name).toBe("ok");
});

test("registered secret values are masked inside any string, and URL credentials too", () => {
  registerSecret("MARKER-SECRET-123456");
  expect(redactString("failed with key MARKER-SECRET-123456 at host")).toBe(
    `failed with key ${REDACTED} at host`,
  );
  expect(redactString("http://user:pw123@host/x")).toBe(`http://user:${REDACTED}@host/x`);
  expect(redactString("https://b.s3/x?X-Amz-Signature=abcdef&y=1")).toBe(
    `https://b.s3/x?X-Amz-Signature=${REDACTED}&y=1`,
  );
});

test("the logger never writes a registered secret", () => {
  registerSecret("LOGGED-SECRET-VALUE");
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  log.info("connecting with LOGGED-SECRET-VALUE", { detail: "x LOGGED-SECRET-VALUE y", token: "t" });
  expect(lines.join("\n")).not.toContain("LOGGED-SECRET-VALUE");
  expect(JSON.parse(lines[0]!).token).toBe(REDACTED);
});
