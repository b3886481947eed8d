import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { runtimeError } from "../errors.js";
import { CallerRefused, type Challenge, unauthenticated } from "./token.js";

const BEARER = /^Bearer +([\w.~+/-]+=*)$/i;

/** Who a verified token speaks for; `subject` joins the request's log line. */
export interface Identity {
  subject: string;
}

/** The token of the request's `Authorization: Bearer` header, if it has one. */
export const bearerToken = (c: Context<AppEnv>): string | undefined =>
  BEARER.exec(c.req.header("authorization") ?? "")?.[1];

/**
 * The request's caller, verified by `verify` from `token` (its bearer token, or what stands in
 * for it). A refusal is logged with its reason and rethrown (401/403); any other failure is ours
 * and answers 503, never 401.
 */
export async function verifiedCaller<I extends Identity>(
  c: Context<AppEnv>,
  token: string | undefined,
  verify: (token: string) => Promise<I>,
  challenge: Challenge,
): Promise<I> {
  const log = c.get("log");
  try {
    if (!token) throw unauthenticated(challenge, "no bearer token");
    const identity = await verify(token);
    c.set("log", log.child({ subject: identity.subject }));
    return identity;
  } catch (error) {
    if (error instanceof CallerRefused) {
      log.warn({ status: error.status, reason: error.reason }, "caller refused");
      throw error;
    }
    // Our failure, not the caller's: a 401 would tell the caller its identity is wrong.
    log.error({ err: error }, "cannot verify the caller");
    throw runtimeError("unavailable", "cannot verify tokens right now; retry later", {
      "Retry-After": "1",
    });
  }
}

/** Lets a request through only with a verified caller. */
export function requireCaller<I extends Identity>(
  verify: (token: string) => Promise<I>,
  challenge: Challenge,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await verifiedCaller(c, bearerToken(c), verify, challenge);
    await next();
  };
}
