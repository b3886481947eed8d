import { type Hook, OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
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

/**
 * Declares a route once: its validation, its types, its place in the OpenAPI document, and the
 * 405 with Allow for every method it does not declare on its path (GET brings HEAD). The allowed
 * methods are read from the declarations when a request comes, so a path declared twice (GET and
 * POST) allows both. Declared in the order the routes should match, as with Hono's own.
 */
export function declare<R extends RouteConfig>(
  app: Router,
  route: R,
  handler: (c: Parameters<RouteHandler<R, AppEnv>>[0]) => Response | Promise<Response>,
): void {
  // Handlers may answer with hand-written JSON or a stream (exact decimals, page by page), which
  // the declared types cannot follow; the contract test checks those answers against the schemas.
  app.openapi(route, handler as unknown as RouteHandler<R, AppEnv>);
  app.all(honoPath(route.path), async (c, next) => {
    const declared = app.openAPIRegistry.definitions.flatMap((definition) =>
      definition.type === "route" && definition.route.path === route.path
        ? [definition.route.method.toUpperCase()]
        : [],
    );
    const methods = [...new Set(declared)].sort();
    const allowed = [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])];
    // A method declared later on this path is answered by its own handler, further on.
    if (allowed.includes(c.req.method)) return next();
    const allow = allowed.join(", ");
    return errorResponse(
      c,
      runtimeError("method_not_allowed", `${c.req.method} is not allowed here; use ${allow}`, {
        Allow: allow,
      }),
    );
  });
}

/** What an OpenAPI document says of the app it describes. */
export interface DocumentInfo {
  title: string;
  description: string;
}

const documentConfig = (info: DocumentInfo) =>
  ({ openapi: "3.1.0", info: { ...info, version: "1" } }) as const;

/** GET /openapi.json: the OpenAPI 3.1 document, built from the declarations. */
export function serveDocs(app: Router, info: DocumentInfo) {
  app.doc31("/openapi.json", documentConfig(info));
}

/** The document serveDocs serves, for a port of its own (serveMetricsAlone). */
export const openApiDocument = (app: Router, info: DocumentInfo): object =>
  app.getOpenAPI31Document(documentConfig(info));
