import { describe, expect, test } from "bun:test";
import { httpFailure, RETRYABLE, unreachable } from "./errors.ts";

describe("retry classification", () => {
  test("never retried: 400/405/410 and other 4xx; retried: 408/425/429/5xx", () => {
    const reason = (s: number) => httpFailure(s, "x").reason;
    for (const s of [400, 405, 410, 411, 414, 422]) expect(reason(s)).toBe("rejected");
    expect(reason(401)).toBe("auth");
    expect(reason(403)).toBe("auth");
    expect(reason(404)).toBe("not_found");
    for (const s of [408, 425, 429, 500, 502, 503, 504]) expect(RETRYABLE.has(reason(s))).toBe(true);
    for (const s of [400, 401, 403, 404, 405, 410]) expect(RETRYABLE.has(reason(s))).toBe(false);
  });

  test("refused, unknown host and no route are unreachable; a temporary DNS failure is not", () => {
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]) {
      const e = unreachable({ code }, "http://h:1", "HF_ENDPOINT");
      expect(e?.reason).toBe("unreachable");
      expect(e?.message).toContain("cannot connect to http://h:1");
      expect(e?.message).toContain("check HF_ENDPOINT");
    }
    expect(unreachable({ code: "EAI_AGAIN" }, "http://h:1", "HF_ENDPOINT")).toBeNull();
    expect(unreachable({ code: "ECONNRESET" }, "http://h:1", "HF_ENDPOINT")).toBeNull();
  });
});
