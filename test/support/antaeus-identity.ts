import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JWTPayload } from "jose";
import { ISSUER, signingKey, startJwksServer, token } from "./identity.js";
import { scratchDir } from "./scratch.js";

// The identities a cluster hands out (knative/antaeus/serviceaccount.yaml), and the one Knative
// Eventing gives a PingSource with authentication-oidc on: "<name>-oidc-sources.knative.dev-
// pingsource" (knative/eventing pkg/auth/serviceaccount.go @9f632ef8847a98f6933794d042b487151454a7f1,
// GetOIDCServiceAccountNameForResource: "-oidc-<group>-<kind>", lowercased).
export const SA = (name: string) => `system:serviceaccount:antaeus:${name}`;
export const SELF = SA("antaeus");
export const READER = SA("antaeus-reader");
export const OPERATOR = SA("antaeus-operator");
export const MONTHLY = SA("monthly-billing-oidc-sources.knative.dev-pingsource");
const OIDC_ISSUER = "https://login.example.com";

/**
 * What Antaeus trusts where auth is on, as knative/antaeus/auth-config.yaml sets it up: the
 * cluster's issuer (its key endpoint behind a token, as the API server's is) and a company's OIDC
 * provider (prefix "oidc:", groups), each with a key endpoint of its own, and the roles of the
 * shipped accounts. `env` is what Antaeus needs to run with it.
 */
export async function antaeusIdentity() {
  const [clusterKey, companyKey] = await Promise.all([
    signingKey("k8s-1"),
    signingKey("idp-1", "ES256"),
  ]);
  const [cluster, company] = await Promise.all([startJwksServer(), startJwksServer()]);
  cluster.state.keys = [clusterKey.jwk];
  cluster.state.token = "jwks-reader";
  company.state.keys = [companyKey.jwk];
  /** A token from the cluster's issuer for Antaeus (audience antaeus), as `kubectl create token`. */
  const clusterToken = (sub: string, claims: JWTPayload = {}) =>
    token(clusterKey, { aud: "antaeus", sub, ...claims });
  /** A token from the company's OIDC provider, with groups. */
  const companyToken = (sub: string, groups: string[], claims: JWTPayload = {}) =>
    token(companyKey, { iss: OIDC_ISSUER, aud: "antaeus-api", sub, groups, ...claims });

  const dir = scratchDir("antaeus-auth");
  await writeFile(join(dir, "jwks-token"), "jwks-reader\n");
  await writeFile(join(dir, "self-token"), await clusterToken(SELF));
  await writeFile(
    join(dir, "auth.json"),
    JSON.stringify({
      issuers: [
        {
          issuer: ISSUER,
          audiences: ["antaeus"],
          jwksUrl: cluster.url,
          jwksTokenFile: join(dir, "jwks-token"),
          jwksCooldownMs: "0",
        },
        {
          issuer: OIDC_ISSUER,
          audiences: ["antaeus-api"],
          jwksUrl: company.url,
          prefix: "oidc:",
          groupsClaim: "groups",
        },
      ],
      roles: {
        reader: { subjects: [READER] },
        billing: { groups: ["oidc:billing"] },
        operator: { subjects: [OPERATOR] },
        self: { subjects: [SELF] },
        pingsource: { subjects: [MONTHLY] },
      },
    }),
  );
  return {
    env: {
      ANTAEUS_AUTH: "on",
      ANTAEUS_AUTH_CONFIG_FILE: join(dir, "auth.json"),
      BILLING_SELF_TOKEN_FILE: join(dir, "self-token"),
    },
    dir,
    clusterKey,
    companyKey,
    cluster,
    company,
    clusterToken,
    companyToken,
    close: async () => {
      await Promise.all([cluster.close(), company.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
