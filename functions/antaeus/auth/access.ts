import type { Role } from "./roles.js";

/**
 * Every route and who may call it: the one table to read for "who may do what". `original`
 * marks the original challenge's routes, which the challenge profile (ANTAEUS_AUTH_OPEN_ROUTES=
 * original) answers without a token; everything else needs a token with one of `roles` in every
 * profile. test/antaeus/auth-routes.test.ts fails when a route of the app is missing here.
 */
export interface RouteAccess {
  method: "GET" | "POST";
  path: string;
  roles: readonly Role[];
  original?: true;
  /**
   * Besides the bearer header, the run pages' session cookie is accepted here. Only the GET
   * routes the pages read: a cookie rides along on any request the browser makes, so it must
   * never be enough to charge or change anything (test/antaeus/auth.test.ts).
   */
  session?: true;
  /**
   * Answered without a caller in every profile: the sign-in checks the token it is given itself;
   * the API's description and its reference page reveal no data.
   */
  public?: true;
}

const READ: readonly Role[] = ["reader", "billing", "operator"];
export const WATCH: readonly Role[] = ["billing", "operator"];
const OPERATE: readonly Role[] = ["operator"];
/** Only Antaeus itself and its PingSources may keep a run going. */
const CONTINUE: readonly Role[] = ["self", "pingsource"];
/** A lane's requests come from Antaeus alone: it starts them and they hand themselves on. */
const LANE: readonly Role[] = ["self"];

export const ROUTE_ACCESS: readonly RouteAccess[] = [
  { method: "GET", path: "/", roles: READ, original: true },
  { method: "GET", path: "/rest/health", roles: READ, original: true },
  { method: "GET", path: "/rest/v1/invoices", roles: READ, original: true },
  { method: "GET", path: "/rest/v1/invoices/:id", roles: READ, original: true },
  { method: "GET", path: "/rest/v1/customers", roles: READ, original: true },
  { method: "GET", path: "/rest/v1/customers/:id", roles: READ, original: true },
  // The judged call: "pay", then fetch the invoices. The monthly PingSource delivers here too.
  {
    method: "POST",
    path: "/rest/v1/invoices/pay",
    roles: ["billing", "operator", "pingsource"],
    original: true,
  },
  { method: "GET", path: "/rest/v1/customers/:id/invoices", roles: READ },
  { method: "GET", path: "/rest/v1/invoices/:id/attempts", roles: WATCH },
  { method: "GET", path: "/rest/v1/invoices/:id/actions", roles: WATCH },
  { method: "GET", path: "/rest/v1/billing/runs", roles: WATCH },
  // The run page's live script polls this with the session cookie.
  { method: "GET", path: "/rest/v1/billing/runs/:id", roles: WATCH, session: true },
  { method: "GET", path: "/rest/v1/billing/runs/:id/actions", roles: WATCH },
  { method: "GET", path: "/rest/v1/billing/events", roles: WATCH },
  // The run pages show what the runs and attempts routes show, to the same people.
  // A browser cannot send a bearer header: a person trades a token for a cookie once.
  { method: "GET", path: "/runs/sign-in", roles: [], public: true },
  { method: "POST", path: "/runs/sign-in", roles: [], public: true },
  { method: "POST", path: "/runs/sign-out", roles: [], public: true },
  { method: "GET", path: "/runs", roles: WATCH, session: true },
  { method: "GET", path: "/runs/:id", roles: WATCH, session: true },
  { method: "GET", path: "/metrics", roles: WATCH },
  { method: "GET", path: "/openapi.json", roles: [], public: true },
  { method: "GET", path: "/docs", roles: [], public: true },
  { method: "GET", path: "/docs/:asset", roles: [], public: true },
  { method: "POST", path: "/rest/v1/billing/runs/:id/lanes/:lane", roles: LANE },
  { method: "POST", path: "/rest/v1/billing/resume", roles: CONTINUE },
  { method: "POST", path: "/rest/v1/invoices/:id/requeue", roles: OPERATE },
  { method: "POST", path: "/rest/v1/billing/runs/:id/cancel", roles: OPERATE },
];

/** The Knative probes: open in every profile, they say nothing but ready or not and why. */
export const PROBES = ["/healthz", "/readyz"] as const;

/** Which routes answer without a token besides the probes and the public ones. */
export type OpenRoutes = "original" | "none";

/** What a caller needs for a route: nothing, or a verified token with one of `roles`. */
export type Access =
  | { open: true }
  | {
      open: false;
      roles: readonly Role[];
      /** The run pages' cookie stands in for the bearer header (GET only). */
      session: boolean;
    };

/**
 * The rule the access guard applies and the OpenAPI document states: probes and public routes
 * are open, the original's routes too in the challenge profile; any other route needs one of its
 * roles, and a path the table does not know needs an operator (so a route added without an entry
 * is closed, not open).
 */
export function accessOf(
  method: string,
  path: string,
  route: RouteAccess | undefined,
  openRoutes: OpenRoutes,
): Access {
  if ((PROBES as readonly string[]).includes(path) || route?.public) return { open: true };
  if (openRoutes === "original" && route?.original) return { open: true };
  return {
    open: false,
    roles: route?.roles ?? ["operator"],
    session: route?.session === true && method === "GET",
  };
}
