// One call to a credential endpoint the sidecar was configured with (the container credentials agent,
// instance metadata, the GCE metadata server): bounded in time, a transport failure turned into a
// `credentials` error naming the endpoint, the answer read as text for the caller to check.
import { DownloadError } from "../../errors.ts";
import { send } from "../http-util.ts";

/** How long a token exchange (STS AssumeRoleWithWebIdentity, an OAuth token endpoint) may take. */
export const TOKEN_EXCHANGE_TIMEOUT_MS = 30_000;

export interface EndpointCall {
  /** Names the endpoint in messages. */
  source: string;
  timeoutMs: number;
  /** Starts the message of a transport failure (default: `source`). */
  label?: string;
  /** Ends the message of a transport failure (what to check). */
  hint?: string;
}

export async function callEndpoint(
  url: string | URL,
  init: RequestInit,
  o: EndpointCall,
): Promise<{ res: Response; text: string }> {
  let res: Response;
  try {
    res = await send(url, { ...init, signal: AbortSignal.timeout(o.timeoutMs) }, o.source);
  } catch (e) {
    throw new DownloadError("credentials", `${o.label ?? o.source}: ${(e as Error).message}${o.hint ?? ""}`, {
      cause: e,
    });
  }
  return { res, text: await res.text() };
}

/** A JSON object, or undefined when `text` is not JSON. */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
