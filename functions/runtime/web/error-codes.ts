// .openapi() on zod's schemas is added by @hono/zod-openapi as it loads.
import "@hono/zod-openapi";
import * as z from "zod";
import {
  ApiError,
  type BadRequestCode,
  type ErrorStatusTable,
  RUNTIME_ERROR_STATUS,
  type RuntimeErrorCode,
} from "./errors.js";
import { jsonContent } from "./openapi.js";

/**
 * A function's error vocabulary: the runtime's codes and the function's own (`own`, each with its
 * status), the closed set its clients can switch on. Everything that names a code is typed by
 * that union, and the OpenAPI document lists exactly it.
 */
export function errorCodes<const Own extends ErrorStatusTable>(
  // A runtime code keeps the runtime's status: a function cannot redeclare one.
  own: Own & { [C in keyof Own & RuntimeErrorCode]?: never },
) {
  type Status = typeof RUNTIME_ERROR_STATUS & Own;
  type Code = RuntimeErrorCode | (keyof Own & string);
  const status: Status = { ...RUNTIME_ERROR_STATUS, ...own };
  const codes = Object.keys(status) as [Code, ...Code[]];
  /** The one error shape, as declared in every route's responses. */
  const schema = z
    .object({ error: z.object({ code: z.enum(codes), message: z.string() }) })
    .openapi("Error");
  const apiError = (code: Code, message: string, headers?: Record<string, string>) =>
    new ApiError(code, status[code], message, headers);
  return {
    apiError,
    /** 400 with a code that names which part of the request is wrong. */
    badRequest: (
      code: BadRequestCode<typeof RUNTIME_ERROR_STATUS> | BadRequestCode<Own>,
      message: string,
    ) => apiError(code, message),
    notFound: (what: string) => apiError("not_found", `${what} not found`),
    /** A declared error response: the error shape, with the sentence saying when it is given. */
    errorContent: (description: string) => jsonContent(schema, description),
    /**
     * A refinement that fails with one of the codes: the validation hook answers with that code
     * and the message, exactly as a hand-written check would.
     */
    failWith: (code: Code, message: (input: unknown) => string) => ({
      params: { code, status: status[code] },
      error: (issue: { input?: unknown }) => message(issue.input),
    }),
  };
}
