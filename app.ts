// createApp(deps): the Hono app. Request ids, API metrics, one error renderer, 404 JSON.
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { AppError, renderError } from "./errors.ts";
import { describeLocalIo } from "./exit.ts";
import { AIBRIX_PLAIN, isAibrixPath } from "./lib/aibrix-paths.ts";
import { type Logger, requestScope } from "./log.ts";
import { redactString, withSecretScope } from "./redact.ts";
import { openapiRoutes, openapiSpecs } from "./routes/openapi.ts";
import type { RouteSpec } from "./routes/spec.ts";
import { VERSION } from "./version.ts";

/** A feature area: its routes and their OpenAPI descriptions. */
export interface Area {
  app: Hono;
  specs: readonly RouteSpec[];
}

export interface AppDeps {
  log: Logger;
  areas: readonly Area[];
  /** Middleware run before every route (auth, limits); added by the hardening layer. */
  guards?: readonly MiddlewareHandler[];
  /** Called once per request with the route template (bounded cardinality), for API metrics. */
  observe?: (method: string, endpoint: string, status: number, seconds: number) => void;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** path -> methods some route serves it with (HEAD with GET), from the app's routes, compiled on first use. */
function methodsByPath(app: Hono): (path: string) => string[] {
  let table: Array<{ method: string; re: RegExp }> | null = null;
  const compile = (p: string) =>
    new RegExp(
      `^${p
        .split(/(:\w+(?:\{[^}]*\})?|\*)/)
        .map((part, i) =>
          i % 2 === 0
            ? part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
            : part === "*"
              ? ".*"
              : `(${/\{([^}]*)\}/.exec(part)?.[1] ?? "[^/]+"})`,
        )
        .join("")}$`,
    );
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== "ALL" && r.path !== "*" && r.path !== "/*")
      .map((r) => ({ method: r.method.toUpperCase(), re: compile(r.path) }));
    const found = new Set(table.filter((r) => r.re.test(path)).map((r) => r.method));
    if (found.has("GET")) found.add("HEAD");
    return METHODS.filter((m) => found.has(m));
  };
}

let seq = 0;
function newRequestId(): string {
  seq = (seq + 1) % 0x1000000;
  return `${Date.now().toString(36)}-${seq.toString(36)}-${Math.floor(Math.random() * 0xffff).toString(36)}`;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const { log } = deps;

  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : newRequestId();
    const started = performance.now();
    // Credentials a request brings are held for redaction while it runs and released after it.
    await requestScope.run({ requestId }, () => withSecretScope(() => next()));
    c.header("X-Request-Id", requestId);
    const template = c.res.status === 404 && c.req.routeIndex < 0 ? "unmatched" : routePath(c, -1);
    const route = template === "*" || template === "/*" ? "unmatched" : template;
    const seconds = (performance.now() - started) / 1000;
    deps.observe?.(c.req.method, route, c.res.status, seconds);
    // The access log (LOG_LEVEL=debug): the route template, never the raw path or query (names, tokens).
    log.debug("request", {
      request_id: requestId,
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round(seconds * 10_000) / 10,
    });
  });
  for (const g of deps.guards ?? []) app.use("*", g);

  const specs = [...openapiSpecs, ...deps.areas.flatMap((a) => a.specs)];
  app.route(
    "/",
    openapiRoutes(() => specs, VERSION),
  );
  for (const area of deps.areas) app.route("/", area.app);

  const allowedMethods = methodsByPath(app);
  const send = (c: Context, e: AppError, headers: Record<string, string> = {}) => {
    const r = renderError(e, c.req.path);
    return c.json(r.body, r.status as 400, { ...r.headers, ...headers });
  };
  app.notFound((c) => {
    const path = c.req.path;
    // AIBrix's paths answer routing errors as FastAPI/Starlette does.
    const form = isAibrixPath(path) || AIBRIX_PLAIN.has(path) ? "detail" : undefined;
    // A path that exists under other methods is 405 with Allow.
    const allow = allowedMethods(path);
    if (allow.length > 0)
      return send(
        c,
        new AppError(
          "method_not_allowed",
          form ? "Method Not Allowed" : `${c.req.method} is not allowed on ${path}`,
          {
            form,
          },
        ),
        { allow: allow.join(", ") },
      );
    return send(
      c,
      new AppError("not_found", isAibrixPath(path) ? "Not Found" : `no route for ${c.req.method} ${path}`, {
        form: isAibrixPath(path) ? "detail" : undefined,
      }),
    );
  });

  app.onError((err, c) => {
    const path = c.req.path;
    if (err instanceof HTTPException && !(err.cause instanceof AppError))
      return send(
        c,
        new AppError("invalid_request", err.message || "request rejected", {
          status: err.status,
          form: isAibrixPath(path) ? "detail" : undefined,
        }),
      );
    const e =
      err instanceof AppError
        ? err
        : err instanceof HTTPException && err.cause instanceof AppError
          ? err.cause
          : localIoError(err);
    if (!e) {
      log.error("unhandled error", { path, error: err });
      return c.text("Internal Server Error", 500);
    }
    const level = e.status >= 500 ? "warn" : "info";
    log[level]("request failed", { path, status: e.status, code: e.code, error: redactString(e.message) });
    return send(c, e);
  });
  return app;
}

/** A local file-system failure no route classified: 500 local_io naming the path, the uid and the fix. */
function localIoError(err: unknown): AppError | null {
  const local = describeLocalIo(err);
  return local ? new AppError("local_io", local.message, { cause: err }) : null;
}
