import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../../runtime/index.js";

/**
 * The run pages' session: the person's verified token itself, in an HttpOnly cookie, so every
 * page request goes through the same verifier as a bearer header (signature, issuer, audience,
 * expiry) and no server keeps state, which a service that scales to zero would lose. The cookie
 * is sent only under the paths the pages read; the guard accepts it only on their GET routes.
 */
const SESSION_COOKIE = "antaeus-session";
const SESSION_PATHS = ["/runs", "/rest/v1/billing/runs"] as const;
/** A longer token would be dropped by the browser without a word (4 KB per cookie). */
export const SESSION_TOKEN_MAX = 3500;
/** Even a token that lives longer opens the pages for a working day at most. */
const SESSION_MAX_SECONDS = 8 * 60 * 60;
export const SIGN_IN_PATH = "/runs/sign-in";

export const sessionToken = (c: Context<AppEnv>): string | undefined =>
  getCookie(c, SESSION_COOKIE);

/** Secure when the person reached us over https (directly, or through Knative's ingress). */
const overHttps = (c: Context<AppEnv>) =>
  new URL(c.req.url).protocol === "https:" ||
  c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";

/** Stores a verified token that expires at `expiresAt` (seconds since the epoch). */
export function startSession(c: Context<AppEnv>, token: string, expiresAt: number): void {
  const maxAge = Math.min(Math.floor(expiresAt - Date.now() / 1000), SESSION_MAX_SECONDS);
  for (const path of SESSION_PATHS) {
    setCookie(c, SESSION_COOKIE, token, {
      path,
      httpOnly: true,
      secure: overHttps(c),
      sameSite: "Strict",
      maxAge: Math.max(maxAge, 0),
    });
  }
}

export function endSession(c: Context<AppEnv>): void {
  for (const path of SESSION_PATHS) {
    deleteCookie(c, SESSION_COOKIE, { path, secure: overHttps(c), httpOnly: true });
  }
}

/** Where to go after signing in: a run page of this server, never anywhere else. */
export const pageAfterSignIn = (next: string | undefined): string =>
  next !== undefined && /^\/runs(\/[0-9]{1,18})?$/.test(next) ? next : "/runs";

export const signInLocation = (page: string) =>
  `${SIGN_IN_PATH}?next=${encodeURIComponent(pageAfterSignIn(page))}`;
