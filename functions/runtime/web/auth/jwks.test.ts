import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingKey, startJwksServer, token } from "../../../../test/support/identity.js";
import { remoteKeySet } from "./jwks.js";

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(() => jwks?.close());

const keySet = (cooldownMs: number, tokenFile?: string) =>
  remoteKeySet({
    url: jwks.url,
    tokenFile,
    caFile: undefined,
    caFileSetting: "",
    cooldownMs,
  });

let unknown: string;
beforeAll(async () => {
  unknown = await token(await signingKey("never-served"));
});

/** Verifies a token signed by a key the endpoint has never served: every try needs a fetch. */
const verifyUnknownKid = (keys: ReturnType<typeof keySet>) =>
  jwtVerify(unknown, keys).then(
    () => "accepted",
    (error: Error) => error.message,
  );

describe("the issuer's key set while its endpoint fails", () => {
  it("is not fetched again by every request with an unknown key id: failures back off too", async () => {
    const keys = keySet(30_000);
    jwks.state.broken = true;
    jwks.state.fetches = 0;
    try {
      // Within the first wait (a second): one fetch, however many requests.
      for (let i = 0; i < 20; i++) await verifyUnknownKid(keys);
      expect(jwks.state.fetches).toBe(1);
      // Held off, and saying why, as /readyz passes it on.
      expect(await verifyUnknownKid(keys)).toMatch(
        /failed 1 time\(s\) in a row, last: HTTP 500; next try in \d+ ms/,
      );
    } finally {
      jwks.state.broken = false;
    }
  });

  it("holds off as long when the token the endpoint asks for cannot be read", async () => {
    const keys = keySet(30_000, "/nonexistent/token");
    expect(await verifyUnknownKid(keys)).toMatch(/cannot read the token file: .*ENOENT/);
    expect(await verifyUnknownKid(keys)).toMatch(
      /failed 1 time\(s\) in a row, last: cannot read the token file: .*; next try in \d+ ms/,
    );
  });

  it("fetches again once the wait is over, and counts only fetches that brought a key set", async () => {
    const keys = keySet(200);
    const key = await signingKey("served");
    jwks.state.keys = [key.jwk];
    jwks.state.broken = true;
    try {
      await verifyUnknownKid(keys);
      expect(keys.fetches).toBe(0);
    } finally {
      jwks.state.broken = false;
    }
    // The first wait is the cooldown here (200 ms), shorter than a second.
    await new Promise((resolve) => setTimeout(resolve, 250));
    await jwtVerify(await token(key), keys);
    expect(keys.fetches).toBe(1);
  });
});
