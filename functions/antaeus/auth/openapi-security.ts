import { type ApiSecurity, bearerJwtScheme } from "../../runtime/index.js";
import { accessOf, ROUTE_ACCESS } from "./access.js";
import { TOKEN_COMMAND } from "./guard.js";
import { SESSION_COOKIE, SIGN_IN_PATH } from "./session.js";
import type { AuthSettings } from "./settings.js";

/**
 * What Antaeus's OpenAPI document says each operation needs: the access guard's own rule
 * (accessOf over ROUTE_ACCESS) in this instance's profile, so a generated client sends a token
 * exactly where the guard asks for one. With auth off every operation is open.
 */
export function openApiSecurity(auth: AuthSettings): ApiSecurity {
  return {
    schemes: {
      bearer: bearerJwtScheme(
        `A token of an issuer Antaeus trusts; the roles it needs are listed per operation. For a reader: ${TOKEN_COMMAND}`,
      ),
      session: {
        type: "apiKey",
        in: "cookie",
        name: SESSION_COOKIE,
        description: `The run pages' session, made from a token at ${SIGN_IN_PATH}; taken on the pages' GET routes only.`,
      },
    },
    requirements: (method, path): Array<Record<string, string[]>> => {
      if (auth.mode === "off") return [];
      const route = ROUTE_ACCESS.find((entry) => entry.method === method && entry.path === path);
      const access = accessOf(method, path, route, auth.openRoutes);
      if (access.open) return [];
      const roles = [...access.roles];
      return [{ bearer: roles }, ...(access.session ? [{ session: roles }] : [])];
    },
  };
}
