import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod";
import { type AppEnv, CallerRefused, declare, type Router } from "../../runtime/index.js";
import { WATCH } from "../auth/access.js";
import { type CallerVerifier, mayCall, refusedRoles, TOKEN_COMMAND } from "../auth/guard.js";
import {
  endSession,
  overHttps,
  pageAfterSignIn,
  SESSION_TOKEN_MAX,
  SIGN_IN_PATH,
  startSession,
} from "../auth/session.js";
import { Page } from "./layout.js";
import { html, PAGE_HEADERS } from "./routes.js";

const seeOther = (description: string) => ({
  description,
  headers: { Location: { schema: { type: "string" as const } } },
});
const next = z.string().max(100).optional().openapi({
  description:
    "the run page to open after signing in (/runs or /runs/{id}); anything else opens /runs",
});

const signInForm = createRoute({
  method: "get",
  path: SIGN_IN_PATH,
  tags: ["pages"],
  summary: "The run pages' sign-in: paste a token once (HTML)",
  request: { query: z.object({ next }) },
  responses: { 200: html("the form"), 303: seeOther("auth is off: straight to the page") },
});

const signIn = createRoute({
  method: "post",
  path: SIGN_IN_PATH,
  tags: ["pages"],
  summary: "Trades a token for the run pages' session cookie",
  description:
    "The token is verified as a bearer token would be and needs the billing or operator role. The cookie holds it, HttpOnly, SameSite=Strict, for no longer than the token lives (8 hours at most); over https it is __Host-antaeus-session (Secure, Path=/), over plain http antaeus-session under the pages' paths, and in production sign-in is refused over plain http. It opens only GET /runs, GET /runs/{id} and GET /rest/v1/billing/runs/{id}.",
  request: {
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": {
          schema: z.object({ token: z.string(), next }),
        },
      },
    },
  },
  responses: {
    303: seeOther("signed in: to the page asked for"),
    400: html("the token is too long for a cookie"),
    401: html("the token is not valid"),
    403: html(
      "the token holds no role that may watch runs, the form came from another site, or (in production) it came over plain http",
    ),
  },
});

const signOut = createRoute({
  method: "post",
  path: "/runs/sign-out",
  tags: ["pages"],
  summary: "Forgets the run pages' session cookie",
  responses: {
    303: seeOther("to the sign-in form"),
    403: html("the form came from another site"),
  },
});

function SignInPage(props: { next: string; problem?: string }) {
  return (
    <Page title="Sign in · Antaeus">
      <h1>Sign in to watch billing runs</h1>
      {props.problem ? (
        <p role="alert" class="status-RUNNING">
          {props.problem}
        </p>
      ) : null}
      <form method="post" action={SIGN_IN_PATH}>
        <p>
          <label for="token">Token</label>
          <br />
          <input id="token" name="token" type="password" autocomplete="off" required />
        </p>
        <input type="hidden" name="next" value={props.next} />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
      <p class="muted">
        A token with the billing or operator role, for example from{" "}
        <code>{TOKEN_COMMAND.replace("antaeus-reader", "antaeus-billing")}</code>. It is kept in
        this browser until it expires or you sign out.
      </p>
    </Page>
  );
}

const refused = (c: Context<AppEnv>, status: ContentfulStatusCode, next: string, problem: string) =>
  c.html(<SignInPage next={next} problem={problem} />, status, PAGE_HEADERS);

/** Another site may not sign a browser in with its own token. */
const fromElsewhere = (c: Context<AppEnv>) => {
  const origin = c.req.header("origin");
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== c.req.header("host");
  } catch {
    return true;
  }
};

/**
 * The way into the run pages for a browser, which cannot send a bearer header: the person pastes
 * a token once and gets it back as a cookie (auth/session.ts says why the token itself).
 * `verify` is the access guard's; undefined when auth is off.
 */
export function signInRoutes(
  app: Router,
  verify: CallerVerifier | undefined,
  httpsOnly: boolean,
): void {
  declare(app, signInForm, (c) => {
    const page = pageAfterSignIn(c.req.valid("query").next);
    if (!verify) return c.redirect(page, 303);
    return c.html(<SignInPage next={page} />, 200, PAGE_HEADERS);
  });
  declare(app, signIn, async (c) => {
    const form = c.req.valid("form");
    const page = pageAfterSignIn(form.next);
    if (!verify) return c.redirect(page, 303);
    if (fromElsewhere(c)) return refused(c, 403, page, "This form was sent from another site.");
    if (httpsOnly && !overHttps(c)) {
      return refused(
        c,
        403,
        page,
        "Sign in over https: the session keeps your token, which must not cross the network in clear text.",
      );
    }
    const token = form.token.trim();
    if (token.length > SESSION_TOKEN_MAX) {
      return refused(
        c,
        400,
        page,
        `This token is longer than ${SESSION_TOKEN_MAX} characters, too long for a browser cookie.`,
      );
    }
    try {
      const caller = await verify(token);
      if (!mayCall(caller, WATCH)) throw refusedRoles(caller, WATCH, "watch billing runs");
      startSession(c, token, caller.expiresAt);
      c.get("log").info({ subject: caller.subject }, "signed in to the run pages");
      return c.redirect(page, 303);
    } catch (error) {
      if (!(error instanceof CallerRefused)) throw error;
      c.get("log").warn({ status: error.status, reason: error.reason }, "sign-in refused");
      return refused(c, error.status, page, `Not signed in: ${error.message}`);
    }
  });
  // Another site may not sign a browser out either.
  declare(app, signOut, (c) => {
    if (fromElsewhere(c)) {
      return refused(c, 403, "/runs", "This form was sent from another site.");
    }
    endSession(c);
    return c.redirect(SIGN_IN_PATH, 303);
  });
}
