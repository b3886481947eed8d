import type { Context, MiddlewareHandler } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { decodeJwt, type JWTPayload } from "jose";
import {
  type AppEnv,
  bearerToken,
  CallerRefused,
  type Challenge,
  describeIssuer,
  forbidden,
  type Logger,
  trustedIssuer,
  unauthenticated,
  verifiedCaller,
} from "../../runtime/index.js";
import { accessOf, ROUTE_ACCESS, type RouteAccess } from "./access.js";
import { PERSON_ROLES, type Role, roleReader } from "./roles.js";
import { endSession, sessionToken, signInLocation } from "./session.js";
import type { AuthFile, AuthSettings, IssuerSettings } from "./settings.js";

/** The README's token step, named in every 401 so a person knows what to run. */
export const TOKEN_COMMAND = "kubectl create token antaeus-reader -n antaeus --audience antaeus";

const CHALLENGE: Challenge = {
  realm: "antaeus",
  message: `a valid bearer token is required; get one with: ${TOKEN_COMMAND} (README, "Calling Antaeus")`,
};

/** A verified caller: its name (issuer prefix + subject) and the roles configuration gives it. */
export interface Caller {
  subject: string;
  roles: readonly Role[];
}

/** The caller of this request; undefined when auth is off or the route is open. */
export const callerOf = (c: Context<AppEnv>): Caller | undefined =>
  c.get("caller") as Caller | undefined;

/** Verifies a token and says whom it speaks for; the sign-in uses the guard's own. */
export type CallerVerifier = (token: string) => Promise<Caller & { expiresAt: number }>;

/** The roles whose pay call charges soft declines now, their retry due or not. */
const CHARGE_NOW: readonly Role[] = ["billing", "operator"];

/**
 * Whether a pay call charges soft declines before their retry is due (docs/billing.md): yes for
 * a verified caller with the billing or operator role, and with auth off (npm start: whoever can
 * reach the process runs it); no for anyone else, the challenge profile's anonymous callers and
 * the PingSources among them, whose calls bill as the schedule does.
 */
export function chargesNow(auth: AuthSettings): (c: Context<AppEnv>) => boolean {
  if (auth.mode === "off") return () => true;
  return (c) => {
    const caller = callerOf(c);
    return caller !== undefined && mayCall(caller, CHARGE_NOW);
  };
}

/** Whether a caller holds one of the roles a route accepts. */
export const mayCall = (caller: Caller, roles: readonly Role[]) =>
  caller.roles.some((role) => roles.includes(role));

/** The 403 for a caller without the roles, as the guard words it. */
export function refusedRoles(caller: Caller, allowed: readonly Role[], what: string) {
  const roles = caller.roles.length ? `holds ${caller.roles.join(", ")}` : "holds no role";
  return forbidden(
    CHALLENGE,
    `${caller.subject} may not ${what}: it ${roles}; this needs ${allowed.join(" or ")}`,
    `roles ${caller.roles.join(",") || "none"} not in ${allowed.join(",")}`,
  );
}

/**
 * Decides every request before it reaches a route, from ROUTE_ACCESS: probes pass, the original's
 * routes pass in the challenge profile, everything else needs a verified token with a role the
 * route accepts. A path the table does not know needs an operator (so a route added without an
 * entry is closed, not open), and then answers 404 or 405 as usual.
 */
export function accessGuard(
  auth: AuthSettings,
  verify: CallerVerifier | undefined,
  logger: Logger,
): MiddlewareHandler<AppEnv> {
  if (auth.mode === "off" || !verify) {
    logger.warn("ANTAEUS_AUTH=off: every route is open to anyone who can reach this process");
    return (_c, next) => next();
  }
  const router = new TrieRouter<RouteAccess>();
  for (const route of ROUTE_ACCESS) router.add(route.method, route.path, route);
  if (auth.openRoutes === "original") {
    logger.warn(
      {
        openRoutes: ROUTE_ACCESS.filter((route) => route.original).map(
          (r) => `${r.method} ${r.path}`,
        ),
      },
      "ANTAEUS_AUTH_OPEN_ROUTES=original (challenge profile): the original's routes answer without a token; deploy knative/production to close them",
    );
  } else {
    logger.info("every route but the probes needs a token");
  }
  return async (c, next) => {
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    const route = router.match(method, c.req.path)[0][0]?.[0];
    const access = accessOf(method, c.req.path, route, auth.openRoutes);
    const bearer = bearerToken(c);
    if (access.open) {
      // Open to anyone; a caller who presents a token on an original route is still told when
      // it does not verify, and one that does may count (pay: charging now is for the billing role).
      if (bearer && route?.original) {
        c.set("caller", await verifiedCaller(c, bearer, verify, CHALLENGE));
      }
      return next();
    }
    // The cookie stands in for the header only on the pages' GET routes: never on a POST.
    const token = bearer ?? (access.session ? sessionToken(c) : undefined);
    let caller: Caller;
    try {
      caller = await verifiedCaller(c, token, verify, CHALLENGE);
    } catch (error) {
      // A person on a page (not the live script, not curl) is sent to sign in, not shown JSON.
      const page = access.session && !c.req.path.startsWith("/rest/");
      const browser = c.req.header("accept")?.includes("text/html");
      if (error instanceof CallerRefused && error.status === 401 && page && browser && !bearer) {
        if (token) endSession(c);
        return c.redirect(signInLocation(c.req.path), 303);
      }
      throw error;
    }
    if (!mayCall(caller, access.roles))
      throw refusedRoles(caller, access.roles, `${c.req.method} ${c.req.path}`);
    c.set("caller", caller);
    await next();
  };
}

/** Verifies callers, and says (for /readyz) when tokens cannot be verified. */
export interface CallerVerification {
  verify: CallerVerifier;
  /** Every issuer's keys fetched and no issuer mismatch: else degraded, never unready. */
  tokens: () => Promise<void>;
}

/**
 * Picks the issuer the token names (unverified, only to choose whose keys verify it), then
 * verifies signature, issuer, audience and expiry against that issuer alone. A token naming no
 * configured issuer goes to the cluster's own where there is one: signed by its keys, it shows
 * an issuer mismatch (the cluster's issuer changed, or was named by hand and wrongly), not a
 * stranger.
 */
export function callerVerifier(file: AuthFile, logger: Logger): CallerVerification {
  const rolesOf = roleReader(
    file.roles,
    file.issuers.map((issuer) => issuer.prefix),
  );
  const issuers = file.issuers.map((settings, index) => ({
    index,
    settings,
    issuer: trustedIssuer(
      {
        name: settings.name,
        keys: {
          url: settings.jwksUrl,
          tokenFile: settings.jwksTokenFile,
          caFile: settings.jwksCaFile,
          caFileSetting: `ANTAEUS_AUTH_CONFIG_FILE issuers[${describeIssuer(settings.name)}].jwksCaFile`,
          cooldownMs: settings.jwksCooldownMs,
        },
        audiences: settings.audiences,
        challenge: CHALLENGE,
      },
      logger,
    ),
  }));
  const byName = new Map(
    issuers.flatMap((entry) =>
      entry.settings.name.kind === "configured"
        ? [[entry.settings.name.issuer, entry] as const]
        : [],
    ),
  );
  const cluster = issuers.find((entry) => entry.settings.name.kind === "discovered");
  const verify: CallerVerifier = async (token) => {
    let claimed: unknown;
    try {
      claimed = decodeJwt(token).iss;
    } catch (error) {
      throw unauthenticated(CHALLENGE, `not a JWT: ${String(error)}`);
    }
    const entry = (typeof claimed === "string" ? byName.get(claimed) : undefined) ?? cluster;
    if (!entry) throw unauthenticated(CHALLENGE, `issuer ${String(claimed)} not trusted`);
    const { settings, issuer, index } = entry;
    const payload = await issuer.verify(token);
    const subject = `${settings.prefix}${payload.sub}`;
    const claim = settings.groupsClaim ? payload[settings.groupsClaim] : undefined;
    const groups = Array.isArray(claim)
      ? claim.filter((g): g is string => typeof g === "string").map((g) => `${settings.prefix}${g}`)
      : [];
    const roles = rolesOf({ issuer: index, subject, groups });
    refuseLongLived(roles, payload, settings);
    return { subject, roles, expiresAt: payload.exp ?? 0 };
  };
  const tokens = async () => {
    for (const { issuer } of issuers) {
      await issuer.ready();
      await issuer.degraded();
    }
  };
  return { verify, tokens };
}

/**
 * A token that lives longer than its holder's roles allow is refused (401, as RFC 6750 has an
 * invalid token): a person's for at most personTokenMaxSeconds (8 h unless configured), a
 * workload's for workloadTokenMaxSeconds where set. Its life is exp less iat; a person's token
 * without iat cannot show it and is refused too.
 */
function refuseLongLived(roles: readonly Role[], payload: JWTPayload, settings: IssuerSettings) {
  const person = roles.some((role) => PERSON_ROLES.includes(role));
  const limit = person ? settings.personTokenMaxSeconds : settings.workloadTokenMaxSeconds;
  if (roles.length === 0 || limit === undefined) return;
  const life = typeof payload.iat === "number" ? (payload.exp ?? 0) - payload.iat : undefined;
  if (life !== undefined && life <= limit) return;
  const hours = (seconds: number) => `${Math.round((seconds / 3600) * 10) / 10} h`;
  const who = person ? "a person's" : "a workload's";
  throw new CallerRefused(
    401,
    `${who} token may live at most ${hours(limit)}, and this one ${life === undefined ? "does not say when it was issued (iat)" : `lives ${hours(life)}`}; get a shorter one, e.g. ${TOKEN_COMMAND} --duration=${Math.floor(limit / 3600) || 1}h`,
    `token lives ${life ?? "an unknown time"} s, over ${limit} s for ${who.split(" ")[1]} roles`,
    CHALLENGE.realm,
  );
}
