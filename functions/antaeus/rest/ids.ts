import { badRequest } from "../../runtime/index.js";

/** PostgreSQL `serial` ids: 1 … 2^31-1. */
const MAX_ID = 2_147_483_647;

/** Ids are parsed at the edge: anything but a positive 32-bit integer is the client's mistake. */
export function parseId(raw: string, name: string): number {
  if (!/^\d{1,10}$/.test(raw)) {
    throw badRequest("invalid_id", `${name} must be a positive integer, got "${raw.slice(0, 40)}"`);
  }
  const id = Number(raw);
  if (id < 1 || id > MAX_ID) {
    throw badRequest("invalid_id", `${name} must be between 1 and ${MAX_ID}, got ${raw}`);
  }
  return id;
}
