import { readFileSync } from "node:fs";
import * as z from "zod";
import {
  ConfigError,
  type IssuerName,
  inClusterApiServer,
  integer,
  KEYS_PATH,
  url,
} from "../../runtime/index.js";
import { ROLES } from "./roles.js";

const httpUrl = url(["http", "https"]);

/**
 * One issuer Antaeus trusts: the cluster's service-account issuer, or a company's OIDC provider.
 * `prefix` goes before its subjects and groups (as Kubernetes' --oidc-username-prefix does), so
 * no issuer can mint a name another issuer's callers hold. An entry naming neither `issuer` nor
 * `jwksUrl` is the cluster's own, read from the API server the pod runs under.
 */
const issuerSchema = z
  .object({
    issuer: z.string().min(1).optional(),
    audiences: z.array(z.string().min(1)).min(1),
    jwksUrl: httpUrl.optional(),
    /** Bearer token sent when fetching the keys (the Kubernetes API server asks for one). */
    jwksTokenFile: z.string().optional(),
    /** CA bundle the key URL's certificate must chain to. */
    jwksCaFile: z.string().optional(),
    jwksCooldownMs: integer({ min: 0, max: 3_600_000, default: 30_000 }),
    prefix: z.string().default(""),
    /** The claim holding the caller's groups (OIDC providers); service-account tokens have none. */
    groupsClaim: z.string().optional(),
  })
  .strict()
  .refine((entry) => (entry.issuer === undefined) === (entry.jwksUrl === undefined), {
    message:
      'name "issuer" and "jwksUrl" together, or neither for the cluster\'s own issuer (read from its API server)',
  });

const grantSchema = z
  .object({
    subjects: z.array(z.string().min(1)).default([]),
    groups: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const authFileSchema = z
  .object({
    issuers: z.array(issuerSchema).min(1),
    roles: z.partialRecord(z.enum(ROLES), grantSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.issuers.forEach((issuer, index) => {
      const name = issuer.issuer ?? "(the cluster's)";
      if (seen.has(name) || seen.has(`prefix:${issuer.prefix}`)) {
        ctx.addIssue({
          code: "custom",
          path: ["issuers", index],
          message: "each issuer must be listed once, each with its own prefix",
        });
      }
      seen.add(name);
      seen.add(`prefix:${issuer.prefix}`);
    });
  });

type FileIssuer = z.output<typeof authFileSchema>["issuers"][number];

/** An issuer as Antaeus uses it: its name configured or discovered, its keys' URL known. */
type IssuerSettings = Omit<FileIssuer, "issuer" | "jwksUrl"> & {
  name: IssuerName;
  jwksUrl: string;
};
export type AuthFile = Omit<z.output<typeof authFileSchema>, "issuers"> & {
  issuers: IssuerSettings[];
};

/** The variables; config.ts adds them to Antaeus's schema. */
export const authEnv = {
  // Set by Kubernetes in every container: where the pod's API server is.
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  KUBERNETES_SERVICE_PORT: z.string().optional(),
  ANTAEUS_AUTH: z.enum(["on", "off"], { message: 'expected "on" or "off"' }).optional(),
  ANTAEUS_AUTH_CONFIG_FILE: z.string().optional(),
  ANTAEUS_AUTH_OPEN_ROUTES: z
    .enum(["original", "none"], { message: 'expected "original" or "none"' })
    .optional(),
};

type AuthEnv = { NODE_ENV: string } & {
  [K in keyof typeof authEnv]?: z.output<(typeof authEnv)[K]> | undefined;
};

/**
 * In production nothing is open by accident: auth cannot be off, and which routes answer without
 * a token is stated ("original" for the challenge profile, "none" for the production one).
 * Outside production auth is off unless asked for.
 */
export function requireExplicitAccess(env: AuthEnv, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [variable], message });
  const production = env.NODE_ENV === "production";
  if (production && env.ANTAEUS_AUTH === "off") {
    problem("ANTAEUS_AUTH", '"off" is refused when NODE_ENV=production');
  }
  const on = env.ANTAEUS_AUTH === "on" || (production && env.ANTAEUS_AUTH === undefined);
  if (on && !env.ANTAEUS_AUTH_CONFIG_FILE) {
    problem("ANTAEUS_AUTH_CONFIG_FILE", "is required when auth is on (always in production)");
  }
  if (production && !env.ANTAEUS_AUTH_OPEN_ROUTES) {
    problem(
      "ANTAEUS_AUTH_OPEN_ROUTES",
      'is required when NODE_ENV=production: "none", or "original" for the challenge profile',
    );
  }
}

export type AuthSettings =
  | { mode: "off" }
  | { mode: "on"; openRoutes: "original" | "none"; file: AuthFile; path: string };

export function authSettings(env: AuthEnv): AuthSettings {
  const on = env.ANTAEUS_AUTH === "on" || (env.NODE_ENV === "production" && !env.ANTAEUS_AUTH);
  if (!on) return { mode: "off" };
  const path = env.ANTAEUS_AUTH_CONFIG_FILE ?? "";
  return {
    mode: "on",
    openRoutes: env.ANTAEUS_AUTH_OPEN_ROUTES ?? "none",
    file: readAuthFile(path, env),
    path,
  };
}

export function readAuthFile(
  path: string,
  env: {
    KUBERNETES_SERVICE_HOST?: string | undefined;
    KUBERNETES_SERVICE_PORT?: string | undefined;
  },
): AuthFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `ANTAEUS_AUTH_CONFIG_FILE: cannot read ${path} as JSON: ${String(error)}`,
    );
  }
  const result = authFileSchema.safeParse(json);
  if (result.success) {
    return { ...result.data, issuers: result.data.issuers.map((entry) => named(entry, path, env)) };
  }
  const problems = result.error.issues.map((i) => `${i.path.join(".") || "file"}: ${i.message}`);
  throw new ConfigError(`ANTAEUS_AUTH_CONFIG_FILE ${path}:\n  ${problems.join("\n  ")}`);
}

/** The entry's issuer as configured, or the pod's API server's (its token and CA unless given). */
function named(
  entry: FileIssuer,
  path: string,
  env: Parameters<typeof inClusterApiServer>[0],
): IssuerSettings {
  const { issuer, jwksUrl, ...rest } = entry;
  if (issuer !== undefined && jwksUrl !== undefined) {
    return { ...rest, name: { kind: "configured", issuer }, jwksUrl };
  }
  const apiServer = inClusterApiServer(env, {
    tokenFile: entry.jwksTokenFile,
    caFile: entry.jwksCaFile,
  });
  if (!apiServer) {
    throw new ConfigError(
      `ANTAEUS_AUTH_CONFIG_FILE ${path}: an issuer without "issuer" is the cluster's, read from its API server, and this is no Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT are unset): name "issuer" and "jwksUrl"`,
    );
  }
  return {
    ...rest,
    name: { kind: "discovered", apiServer },
    jwksUrl: `${apiServer.url}${KEYS_PATH}`,
    jwksTokenFile: apiServer.tokenFile,
    jwksCaFile: apiServer.caFile,
  };
}
