/**
 * Who may do what on Antaeus. People get one of the first three from configuration (by token
 * subject or group); the last two are workloads: Antaeus itself (its continuations) and the
 * PingSources that deliver the monthly run and the watchdog's hourly call.
 */
export const ROLES = ["reader", "billing", "operator", "self", "pingsource"] as const;
export type Role = (typeof ROLES)[number];
export const PERSON_ROLES: readonly Role[] = ["reader", "billing", "operator"];

/** Which subjects and groups hold a role, each named with its issuer's prefix. */
interface RoleGrant {
  subjects: readonly string[];
  groups: readonly string[];
}
export type RoleGrants = Partial<Record<Role, RoleGrant>>;

/**
 * A verified caller as the grants see it: its issuer (its place in the configured list: the
 * cluster's may be discovered, unnamed until it is), and its names with that issuer's prefix.
 */
export interface Named {
  issuer: number;
  subject: string;
  groups: readonly string[];
}

/**
 * The roles a caller holds: each one whose grant names its subject or one of its groups, as a
 * name of the caller's own issuer. A name in the grants belongs to the issuer whose prefix it
 * starts with, the longest where one prefix starts another: with the cluster's issuer under
 * "k8s:" and a provider under "", "k8s:system:serviceaccount:antaeus:antaeus" is the cluster's
 * account, and a provider's user whose subject is that same text holds nothing by it.
 */
export function roleReader(
  grants: RoleGrants,
  prefixes: readonly string[],
): (caller: Named) => Role[] {
  const byLongestPrefix = prefixes
    .map((prefix, issuer) => ({ prefix, issuer }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const ownerOf = (name: string) =>
    byLongestPrefix.find((issuer) => name.startsWith(issuer.prefix))?.issuer;
  const held = (names: readonly string[]) =>
    new Set(names.map((name) => `${ownerOf(name)}\n${name}`));
  const granted = ROLES.flatMap((role) => {
    const grant = grants[role];
    return grant ? [{ role, subjects: held(grant.subjects), groups: held(grant.groups) }] : [];
  });
  return (caller) => {
    const key = (name: string) => `${caller.issuer}\n${name}`;
    return granted
      .filter(
        ({ subjects, groups }) =>
          subjects.has(key(caller.subject)) || caller.groups.some((g) => groups.has(key(g))),
      )
      .map(({ role }) => role);
  };
}
