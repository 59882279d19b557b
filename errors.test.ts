import { describe, expect, test } from "bun:test";
import {
  AppError,
  ERRORS,
  type ErrorForm,
  errorType,
  renderError,
  retryableCode,
  retryableStatus,
  unsupported,
} from "./errors.ts";
import { EXIT_CODES, RETRYABLE } from "./storage/errors.ts";

describe("the error table", () => {
  test("a status from the table unless one is passed on; the AIBrix type from the table, else by status", () => {
    const e = new AppError("lora_not_found", "LoRA adapter 'x' not found");
    expect(e.status).toBe(404);
    expect(errorType(e)).toBe("NotFoundError");
    const passed = new AppError("engine_rejected", "engine said 409", { status: 409 });
    expect(passed.status).toBe(409);
    expect(errorType(passed)).toBe("ConflictError");
  });

  test("'the engine cannot do this' is one code: 501, and 409 on sleep/wake as AIBrix answers", () => {
    expect(unsupported("no LoRA", "lora_load")).toMatchObject({ code: "unsupported", status: 501 });
    expect(unsupported("no sleep", "sleep")).toMatchObject({ code: "unsupported", status: 409 });
    expect(unsupported("no wake", "wake")).toMatchObject({ code: "unsupported", status: 409 });
  });

  test("every download reason has a row and an exit code; only the table's retry rows are retried", () => {
    const reasons = Object.keys(EXIT_CODES);
    const rows = Object.keys(ERRORS).filter((c) => c.startsWith("download_"));
    expect(rows.sort()).toEqual(reasons.map((r) => `download_${r}`).sort());
    expect([...RETRYABLE]).toEqual(["network"]);
    expect(retryableCode("download_network")).toBe(true);
    expect(retryableCode("download_rejected")).toBe(false);
  });

  test("retry by status: never 400/401/403/404/405/410/412/416, always 408/425/429/5xx", () => {
    for (const s of [400, 401, 403, 404, 405, 410, 412, 416, 418]) expect(retryableStatus(s)).toBe(false);
    for (const s of [408, 425, 429, 500, 502, 503, 504]) expect(retryableStatus(s)).toBe(true);
  });
});

describe("renderers", () => {
  const e = (form?: ErrorForm) => new AppError("model_not_active", "model 'm' is not active", { form });

  test("problem+json on our paths, AIBrix's ErrorResponse on its paths", () => {
    const ours = renderError(e(), "/v1/other");
    expect(ours.headers["content-type"]).toBe("application/problem+json");
    expect(ours.body).toMatchObject({
      type: "urn:airuntime:error:model_not_active",
      status: 404,
      detail: "model 'm' is not active",
      instance: "/v1/other",
    });
    expect(renderError(e(), "/v1/runtime/models/sleep")).toEqual({
      status: 404,
      headers: {},
      body: {
        object: "error",
        message: "model 'm' is not active",
        type: "NotFoundError",
        param: null,
        code: 404,
      },
    });
  });

  test("FastAPI detail, LoRA delegation error and the activate reply", () => {
    expect(renderError(e("detail"), "/x").body).toEqual({ detail: "model 'm' is not active" });
    expect(renderError(e("error"), "/x").body).toEqual({ error: "model 'm' is not active" });
    expect(renderError(e({ activate: "m" }), "/x").body).toEqual({
      status: "error",
      model_name: "m",
      port: 0,
      ipc_name: "",
      message: "model 'm' is not active",
    });
  });
});
