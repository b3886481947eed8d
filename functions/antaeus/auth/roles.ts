/**
 * Who may do what on Antaeus. People get one of the first three from configuration (by token
 * subject or group); the last two are workloads: Antaeus itself (its continuations) and the
 * PingSources that deliver the monthly run and the watchdog's hourly call.
 */
export const ROLES = ["reader", "billing", "operator", "self", "pingsource"] as const;
export type Role = (typeof ROLES)[number];

/** Which subjects and groups hold a role. */
interface RoleGrant {
  subjects: readonly string[];
  groups: readonly string[];
}
export type RoleGrants = Partial<Record<Role, RoleGrant>>;

/** The roles a caller holds: each one whose grant names its subject or one of its groups. */
export function rolesOf(grants: RoleGrants, subject: string, groups: readonly string[]): Role[] {
  return ROLES.filter((role) => {
    const grant = grants[role];
    return (
      grant !== undefined &&
      (grant.subjects.includes(subject) || groups.some((group) => grant.groups.includes(group)))
    );
  });
}
