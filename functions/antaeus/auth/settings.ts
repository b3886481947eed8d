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

/** Eight hours: a working day, as long as a person's token may live (`--duration=8h`). */
const PERSON_TOKEN_MAX_SECONDS = 8 * 60 * 60;

/**
 * One issuer Antaeus trusts: the cluster's service-account issuer, or a company's OIDC provider.
 * `prefix` goes before its subjects and groups (as Kubernetes' --oidc-username-prefix does), and
 * a name in the roles belongs to the issuer whose prefix it starts with (the longest, where one
 * prefix starts another): no issuer can mint a name another issuer's callers hold (roles.ts). An
 * entry naming neither `issuer` nor `jwksUrl` is the cluster's own, read from the API server the
 * pod runs under.
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
    /**
     * The longest a token may live (exp less iat) to be granted a person's role (reader, billing,
     * operator): `kubectl create token --duration=8760h` makes one that lives a year.
     */
    personTokenMaxSeconds: integer({
      min: 60,
      max: 366 * 24 * 60 * 60,
      default: PERSON_TOKEN_MAX_SECONDS,
    }),
    /**
     * The same for a workload's role (self, pingsource); unset, no limit: projected
     * service-account tokens rotate hourly, but an API server extends their exp to a year by
     * default (--service-account-extend-token-expiration), so a limit here must allow for that.
     */
    workloadTokenMaxSeconds: z.coerce.number().int().min(60).optional(),
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
export type IssuerSettings = Omit<FileIssuer, "issuer" | "jwksUrl"> & {
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
 * Whether callers must present a token: as ANTAEUS_AUTH says; unset, on wherever there is
 * something to verify them against (a config file) or NODE_ENV=production, off otherwise (npm
 * start). A config file never goes unused for want of a second variable.
 */
export const authIsOn = (env: AuthEnv): boolean =>
  env.ANTAEUS_AUTH === undefined
    ? env.NODE_ENV === "production" || env.ANTAEUS_AUTH_CONFIG_FILE !== undefined
    : env.ANTAEUS_AUTH === "on";

/**
 * In production nothing is open by accident: auth cannot be off, and which routes answer without
 * a token is stated ("original" for the challenge profile, "none" for the production one).
 * Outside production auth is off unless asked for (or a config file is given).
 */
export function requireExplicitAccess(env: AuthEnv, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [variable], message });
  const production = env.NODE_ENV === "production";
  if (production && env.ANTAEUS_AUTH === "off") {
    problem("ANTAEUS_AUTH", '"off" is refused when NODE_ENV=production');
  }
  if (authIsOn(env) && !env.ANTAEUS_AUTH_CONFIG_FILE) {
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
  | {
      mode: "on";
      openRoutes: "original" | "none";
      file: AuthFile;
      path: string;
      /** NODE_ENV=production: the run pages' sign-in only over https (the cookie holds a token). */
      httpsSignIn: boolean;
    };

export function authSettings(env: AuthEnv): AuthSettings {
  if (!authIsOn(env)) return { mode: "off" };
  const path = env.ANTAEUS_AUTH_CONFIG_FILE ?? "";
  return {
    mode: "on",
    openRoutes: env.ANTAEUS_AUTH_OPEN_ROUTES ?? "none",
    file: readAuthFile(path, env),
    path,
    httpsSignIn: env.NODE_ENV === "production",
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
