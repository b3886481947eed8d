import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../../runtime/index.js";

/**
 * The run pages' session: the person's verified token itself, in an HttpOnly cookie, so every
 * page request goes through the same verifier as a bearer header (signature, issuer, audience,
 * expiry, a person's token age) and no server keeps state, which a service that scales to zero
 * would lose. (A session signed by Antaeus instead would be a key to share between replicas and
 * rotate, for little: the token's audience is Antaeus alone, and what it opens here it opens with
 * a bearer header anyway. The cookie's guards are below.) The guard accepts the cookie only on
 * the pages' GET routes, never on a POST.
 *
 * Over https (directly, or as Knative's gateway says in X-Forwarded-Proto) the cookie is
 * `__Host-antaeus-session`: Secure, Path=/, no Domain, so a sibling service under the same
 * domain (every Knative Service gets one) cannot plant a cookie of that name that shadows it;
 * browsers refuse a `__Host-` cookie set any other way. Over plain http (npm start) it is
 * `antaeus-session`, sent only under the pages' paths; production refuses to sign in over http.
 */
export const SESSION_COOKIE = "antaeus-session";
const PLAIN_PATHS = ["/runs", "/rest/v1/billing/runs"] as const;
/** A longer token would be dropped by the browser without a word (4 KB per cookie). */
export const SESSION_TOKEN_MAX = 3500;
/** Even a token that lives longer opens the pages for a working day at most. */
const SESSION_MAX_SECONDS = 8 * 60 * 60;
export const SIGN_IN_PATH = "/runs/sign-in";

/**
 * Whether the person reached us over https. Behind Knative the pod hears plain http from
 * queue-proxy; Kourier's gateway (Envoy, trusting no hops before it) sets X-Forwarded-Proto to
 * the scheme of the client's own connection, and the NetworkPolicies let only Knative's data path
 * reach the pod. With a load balancer that ends TLS before the gateway, the gateway sees http.
 */
export const overHttps = (c: Context<AppEnv>) =>
  new URL(c.req.url).protocol === "https:" ||
  c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";

/** The session's token: only the `__Host-` cookie over https, only the plain one over http. */
export const sessionToken = (c: Context<AppEnv>): string | undefined =>
  overHttps(c) ? getCookie(c, SESSION_COOKIE, "host") : getCookie(c, SESSION_COOKIE);

/** Stores a verified token that expires at `expiresAt` (seconds since the epoch). */
export function startSession(c: Context<AppEnv>, token: string, expiresAt: number): void {
  const maxAge = Math.max(
    Math.min(Math.floor(expiresAt - Date.now() / 1000), SESSION_MAX_SECONDS),
    0,
  );
  const cookie = { httpOnly: true, sameSite: "Strict", maxAge } as const;
  if (overHttps(c)) {
    setCookie(c, SESSION_COOKIE, token, { ...cookie, secure: true, path: "/", prefix: "host" });
    return;
  }
  for (const path of PLAIN_PATHS) setCookie(c, SESSION_COOKIE, token, { ...cookie, path });
}

export function endSession(c: Context<AppEnv>): void {
  if (overHttps(c)) {
    deleteCookie(c, SESSION_COOKIE, { secure: true, path: "/", prefix: "host", httpOnly: true });
    return;
  }
  for (const path of PLAIN_PATHS) deleteCookie(c, SESSION_COOKIE, { path, httpOnly: true });
}

/** Where to go after signing in: a run page of this server, never anywhere else. */
export const pageAfterSignIn = (next: string | undefined): string =>
  next !== undefined && /^\/runs(\/[0-9]{1,18})?$/.test(next) ? next : "/runs";

export const signInLocation = (page: string) =>
  `${SIGN_IN_PATH}?next=${encodeURIComponent(pageAfterSignIn(page))}`;
