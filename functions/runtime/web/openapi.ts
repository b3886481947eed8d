import { type Hook, OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod";
import { serveApiDocs } from "./api-docs.js";
import type { AppEnv } from "./app-env.js";
import { ApiError, errorResponse, runtimeError } from "./errors.js";

/** A declared JSON response. */
export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A declared response whose body is text of `mediaType` (a page, a plain line). */
export const textContent = (mediaType: "text/html" | "text/plain", description: string) => ({
  description,
  content: { [mediaType]: { schema: z.string() } },
});

/** What a `failWith` refinement (error-codes.ts) leaves on its issue. */
type FailedWith = { code: string; status: ContentfulStatusCode };

/**
 * Turns a failed declaration check into our error: the first issue decides. A query parameter
 * given more than once is refused as ambiguous; a refinement names its own code and status
 * (failWith); any other failure gets its target's code.
 */
const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? "");
  if (result.target === "query" && (c.req.queries(name)?.length ?? 0) > 1) {
    throw runtimeError("invalid_query", `give ${name} at most once`);
  }
  const message = issue?.message ?? "the request is not valid";
  const declared = issue?.code === "custom" ? (issue.params as FailedWith | undefined) : undefined;
  if (declared) throw new ApiError(declared.code, declared.status, message);
  throw runtimeError(result.target === "param" ? "invalid_id" : "invalid_query", message);
};

/** An app whose routes are declared once, with zod: validation, types and the OpenAPI document. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
export type Router = ReturnType<typeof createRouter>;

/** Hono's path for an OpenAPI one: `/runs/{id}` → `/runs/:id`. */
const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

/** Each app's declared methods by OpenAPI path, for its 405s. */
const declaredMethods = new WeakMap<Router, Map<string, Set<string>>>();

/**
 * Declares a route once: its validation, its types, its place in the OpenAPI document, and the
 * 405 with Allow for every method it does not declare on its path (GET brings HEAD). A path
 * declared twice (GET and POST) allows both: its 405 check, added with its first declaration,
 * reads the methods declared by the time a request comes. Declared in the order the routes
 * should match, as with Hono's own.
 */
export function declare<R extends RouteConfig>(
  app: Router,
  route: R,
  handler: (c: Parameters<RouteHandler<R, AppEnv>>[0]) => Response | Promise<Response>,
): void {
  // Handlers may answer with hand-written JSON or a stream (exact decimals, page by page), which
  // the declared types cannot follow; the contract test checks those answers against the schemas.
  app.openapi(route, handler as unknown as RouteHandler<R, AppEnv>);
  const paths = declaredMethods.get(app) ?? new Map<string, Set<string>>();
  declaredMethods.set(app, paths);
  const methods = paths.get(route.path);
  if (methods) {
    methods.add(route.method.toUpperCase());
    return;
  }
  const declared = new Set([route.method.toUpperCase()]);
  paths.set(route.path, declared);
  app.all(honoPath(route.path), async (c, next) => {
    // A method declared later on this path is answered by its own handler, further on.
    if (declared.has(c.req.method) || (c.req.method === "HEAD" && declared.has("GET"))) {
      return next();
    }
    const allow = [...[...declared].sort(), ...(declared.has("GET") ? ["HEAD"] : [])].join(", ");
    return errorResponse(
      c,
      runtimeError("method_not_allowed", `${c.req.method} is not allowed here; use ${allow}`, {
        Allow: allow,
      }),
    );
  });
}

/** Who may call each operation, as the OpenAPI document states it. */
export interface ApiSecurity {
  /** components.securitySchemes, by name. */
  schemes: Record<string, Record<string, unknown>>;
  /**
   * An operation's security requirements: alternatives, each naming a scheme and the roles its
   * token must carry (OpenAPI 3.1 allows role names for any scheme); [] when it is open.
   */
  requirements: (method: string, path: string) => Array<Record<string, string[]>>;
}

/** The security scheme of a JWT sent as a bearer token (RFC 6750), as both functions take it. */
export const bearerJwtScheme = (description: string) => ({
  type: "http",
  scheme: "bearer",
  bearerFormat: "JWT",
  description,
});

/** What an OpenAPI document says of the app it describes. */
export interface DocumentInfo {
  title: string;
  description: string;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * GET /openapi.json, the OpenAPI 3.1 document built from the declarations, with each
 * operation's security when given; and GET /docs, the reference page that renders it
 * (api-docs.ts). The document is built on its first request, not at start.
 */
export function serveDocs(app: Router, info: DocumentInfo, security?: ApiSecurity): void {
  let document: object | undefined;
  app.get("/openapi.json", (c) => {
    document ??= openApiDocument(app, info, security);
    return c.json(document);
  });
  serveApiDocs(app, info.title);
}

/** The document serveDocs serves, built anew: for a port of its own (serveMetricsAlone). */
export function openApiDocument(app: Router, info: DocumentInfo, security?: ApiSecurity) {
  const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: { ...info, version: "1" } });
  if (!security) return document;
  document.components = { ...document.components, securitySchemes: security.schemes as never };
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations ?? {})) {
      if (!METHODS.has(method)) continue;
      (operation as { security?: unknown }).security = security.requirements(
        method.toUpperCase(),
        honoPath(path),
      );
    }
  }
  return document;
}
