// Request validation with AIBrix's (FastAPI's) 422 shape:
//   {"detail":[{"type":"missing","loc":["body","lora_name"],"msg":"Field required","input":{...}}]}
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";

export interface FastApiIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

type Issue = z.core.$ZodIssue;

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

/** JSON body validator: 422 with FastAPI detail on failure. */
export function jsonBody<T extends z.ZodType>(schema: T, unionNames?: readonly string[]) {
  return zValidator("json", schema, (result, c) => {
    if (!result.success) {
      const input = (result as { data?: unknown }).data;
      // zod settles a union on the closest member when only unknown keys fail; pydantic reports every
      // member, each under its class name, so do the same.
      const options = unionNames
        ? (schema as unknown as { options?: readonly z.ZodType[] }).options
        : undefined;
      const detail = options
        ? options.flatMap((o, i) => {
            const r = o.safeParse(input);
            return r.success
              ? []
              : toFastApiDetail(r.error.issues, input, "body", undefined, [unionNames![i] ?? `member${i}`]);
          })
        : toFastApiDetail(result.error.issues, input, "body", unionNames);
      return c.json({ detail }, 422);
    }
  });
}

export function queryParams<T extends z.ZodType>(schema: T) {
  return zValidator("query", schema, (result, c) => {
    if (!result.success) {
      const detail = toFastApiDetail(result.error.issues, (result as { data?: unknown }).data, "query");
      return c.json({ detail }, 422);
    }
  });
}
