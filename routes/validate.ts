// Request validation with AIBrix's (FastAPI's) 422 shape:
//   {"detail":[{"type":"missing","loc":["body","lora_name"],"msg":"Field required","input":{...}}]}
// The echoed input is bounded (a long string is cut, a large object summarized) and so is the number of
// entries, so a 422 is never larger than a few KiB whatever was sent.
import { zValidator } from "@hono/zod-validator";
import type { Context, Next } from "hono";
import { z } from "zod";
import { isReservedKey, MODEL_NAME_MAX, modelNameProblem } from "../validate/names.ts";

export interface FastApiIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
  ctx?: Record<string, unknown>;
}

type Issue = z.core.$ZodIssue;

/** At most this many detail entries, each echoing at most this much of its input. */
export const MAX_DETAIL_ENTRIES = 20;
const MAX_INPUT_CHARS = 128;

/** The input as a 422 echoes it: short strings and small values as sent, anything larger summarized. */
export function boundedInput(v: unknown): unknown {
  if (typeof v === "string") return v.length > MAX_INPUT_CHARS ? `${v.slice(0, MAX_INPUT_CHARS)}…` : v;
  if (v === null || typeof v !== "object") return v;
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  if (text !== undefined && text.length <= MAX_INPUT_CHARS) return v;
  return Array.isArray(v) ? `[list of ${v.length} items]` : `{object with ${Object.keys(v).length} keys}`;
}

export function bounded(detail: FastApiIssue[]): FastApiIssue[] {
  return detail
    .slice(0, MAX_DETAIL_ENTRIES)
    .map((d) => ("input" in d ? { ...d, input: boundedInput(d.input) } : d));
}

/** A model name under the name rule (validate/names.ts): 422 naming the field otherwise. */
export const modelNameField = z
  .string()
  .min(1)
  .max(MODEL_NAME_MAX)
  .superRefine((v, ctx) => {
    const problem = modelNameProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: `Invalid model name: ${problem}` });
  });

/** A request value used as a lookup key (engine kind...): never a name every object already has. */
export const lookupKeyField = z
  .string()
  .refine((v) => !isReservedKey(v), { message: "Value is a reserved word, not a known name" });

/** A 422 in the FastAPI shape for one field, for checks that need configuration (port range...). */
export function fieldError(c: Context, field: string, msg: string, input: unknown): Response {
  return c.json(
    { detail: [{ type: "value_error", loc: ["body", field], msg, input: boundedInput(input) }] },
    422,
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

const TYPE_WORDS: Record<string, [string, string]> = {
  string: ["string_type", "Input should be a valid string"],
  number: ["float_type", "Input should be a valid number"],
  int: ["int_type", "Input should be a valid integer"],
  boolean: ["bool_type", "Input should be a valid boolean"],
  object: ["dict_type", "Input should be a valid dictionary"],
  record: ["dict_type", "Input should be a valid dictionary"],
  array: ["list_type", "Input should be a valid list"],
};

/** Convert zod issues into FastAPI detail entries. `unionNames` names the members of a top-level union. */
export function toFastApiDetail(
  issues: readonly Issue[],
  input: unknown,
  where: "body" | "query" = "body",
  unionNames?: readonly string[],
  prefix: (string | number)[] = [],
): FastApiIssue[] {
  const out: FastApiIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    const loc = [where, ...prefix, ...path];
    const value = valueAt(input, issue.path);
    if (issue.code === "invalid_union" && unionNames && prefix.length === 0 && path.length === 0) {
      issue.errors.forEach((member, i) => {
        out.push(...toFastApiDetail(member, input, where, undefined, [unionNames[i] ?? `member${i}`]));
      });
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({
          type: "extra_forbidden",
          loc: [...loc, key],
          msg: "Extra inputs are not permitted",
          input: valueAt(value, [key]),
        });
    } else if (issue.code === "invalid_type" && value === undefined) {
      out.push({
        type: "missing",
        loc,
        msg: "Field required",
        input: valueAt(input, issue.path.slice(0, -1)),
      });
    } else if (issue.code === "invalid_type") {
      const [type, msg] = TYPE_WORDS[issue.expected] ?? ["type_error", issue.message];
      out.push({ type, loc, msg, input: value });
    } else {
      out.push({ type: "value_error", loc, msg: issue.message, input: value });
    }
  }
  return out;
}

/**
 * Read a request body the way FastAPI does: JSON when the content type is JSON or absent; an empty body is
 * "missing"; bad JSON is `json_invalid`; any other content type (a form) is not an object.
 */
const OBJECT = "dictionary or object to extract fields from";

function parseJsonBody(
  text: string,
  contentType: string | undefined,
): { ok: true; value: unknown } | { ok: false; detail: FastApiIssue[] } {
  const fail = (
    type: string,
    loc: FastApiIssue["loc"],
    msg: string,
    input: unknown,
    ctx?: FastApiIssue["ctx"],
  ) => ({
    ok: false as const,
    detail: bounded([{ type, loc, msg, input, ...(ctx ? { ctx } : {}) }]),
  });
  const notAnObject = (input: unknown) =>
    fail("model_attributes_type", ["body"], `Input should be a valid ${OBJECT}`, input);
  if (text === "") return fail("missing", ["body"], "Field required", null);
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mime !== "" && !/^application\/([\w.+-]+\+)?json$/.test(mime)) return notAnObject(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = Number(/position (\d+)/.exec((e as Error).message)?.[1] ?? 0);
    return fail("json_invalid", ["body", pos], "JSON decode error", {}, { error: (e as Error).message });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return notAnObject(value);
  return { ok: true, value };
}

/** A body read as FastAPI reads it (parseJsonBody) and checked against `schema`: its data, or the detail. */
export function checkJsonBody<T extends z.ZodType>(
  text: string,
  contentType: string | undefined,
  schema: T,
  unionNames?: readonly string[],
): { ok: true; data: z.output<T> } | { ok: false; detail: FastApiIssue[] } {
  const parsed = parseJsonBody(text, contentType);
  if (!parsed.ok) return parsed;
  const input = parsed.value;
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  // zod settles a union on the closest member when only unknown keys fail; pydantic reports every
  // member, each under its class name, so do the same.
  const options = unionNames ? (schema as unknown as { options?: readonly z.ZodType[] }).options : undefined;
  const detail = options
    ? options.flatMap((o, i) => {
        const r = o.safeParse(input);
        return r.success
          ? []
          : toFastApiDetail(r.error.issues, input, "body", undefined, [unionNames![i] ?? `member${i}`]);
      })
    : toFastApiDetail(result.error.issues, input, "body", unionNames);
  return { ok: false, detail: bounded(detail) };
}

/** JSON body validator: 422 with FastAPI detail on failure (bad JSON, empty or form bodies included). */
export function jsonBody<T extends z.ZodType>(schema: T, unionNames?: readonly string[]) {
  // zValidator only lends its type (c.req.valid("json")); the body is read here, as FastAPI reads it.
  const typed = zValidator("json", schema);
  const mw = async (c: Context, next: Next) => {
    const r = checkJsonBody(await c.req.text(), c.req.header("content-type"), schema, unionNames);
    if (!r.ok) return c.json({ detail: r.detail }, 422);
    c.req.addValidatedData("json", r.data as object);
    await next();
  };
  return mw as unknown as typeof typed;
}

export function queryParams<T extends z.ZodType>(schema: T) {
  return zValidator("query", schema, (result, c) => {
    if (!result.success) {
      const detail = toFastApiDetail(result.error.issues, (result as { data?: unknown }).data, "query");
      return c.json({ detail: bounded(detail) }, 422);
    }
  });
}
