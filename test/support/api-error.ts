import { expect } from "vitest";

/** The JSON error both functions answer with: its status, closed code, and what the message names. */
export async function expectError(
  response: Response,
  status: number,
  code: string,
  mentions: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toContain(mentions);
}
