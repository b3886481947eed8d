import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../runtime/index.js";
import { ApiError } from "../../runtime/index.js";
import { CallerRefused, type TokenVerifier, unauthenticated } from "./verifier.js";

const BEARER = /^Bearer +([\w.~+/-]+=*)$/i;

/** Lets a request through only with a verified caller; its subject joins the request's log. */
export function requireCaller(verify: TokenVerifier): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const log = c.get("log");
    try {
      const token = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
      if (!token) throw unauthenticated("no bearer token");
      c.set("log", log.child({ subject: await verify(token) }));
    } catch (error) {
      if (error instanceof CallerRefused) {
        log.warn({ status: error.status, reason: error.reason }, "caller refused");
        throw error;
      }
      // Our failure, not the caller's: a 401 would tell Antaeus its identity is wrong.
      log.error({ err: error }, "cannot verify the caller");
      throw new ApiError("unavailable", "cannot verify tokens right now; retry later", {
        "Retry-After": "1",
      });
    }
    await next();
  };
}
