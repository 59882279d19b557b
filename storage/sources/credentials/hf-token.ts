// The Hugging Face token: HF_TOKEN, else the file `huggingface-cli login` writes (HF_TOKEN_PATH, default
// $HF_HOME/token, ~/.cache/huggingface/token). The file is read when a download starts (a login after
// start-up is seen), kept in memory only, registered for redaction. A missing file means no token.
import { readFile } from "node:fs/promises";
import { registerSecret } from "../../../redact.ts";
import { DownloadError } from "../../errors.ts";
import type { BearerToken } from "./types.ts";

export type HfTokenProvider = () => Promise<BearerToken | undefined>;

export function hfToken(
  token: string | undefined,
  tokenFile: string | undefined,
  fromRequest = false,
): HfTokenProvider {
  if (token) {
    registerSecret(token);
    const t: BearerToken = { token, source: fromRequest ? "the request's hf_token" : "HF_TOKEN" };
    return async () => t;
  }
  if (!tokenFile) return async () => undefined;
  let read: Promise<BearerToken | undefined> | undefined;
  return () =>
    (read ??= readFile(tokenFile, "utf8").then(
      (text) => {
        const value = text.trim();
        if (!value) return undefined;
        registerSecret(value);
        return { token: value, source: `the token file ${tokenFile}` };
      },
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return undefined;
        throw new DownloadError(
          "credentials",
          `cannot read the Hugging Face token file ${tokenFile}: ${e.message}`,
        );
      },
    ));
}
