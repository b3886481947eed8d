import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "./config.js";

let dir: string;
let authFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "antaeus-config-"));
  authFile = join(dir, "auth.json");
  await writeFile(
    authFile,
    JSON.stringify({
      issuers: [
        { issuer: "https://issuer", audiences: ["antaeus"], jwksUrl: "https://issuer/jwks" },
      ],
      roles: {},
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("whether callers must present a token", () => {
  const withFile = () => ({
    ANTAEUS_AUTH_CONFIG_FILE: authFile,
    BILLING_SELF_TOKEN_FILE: join(dir, "self-token"),
  });

  it("is on wherever a config file says whom to trust, whatever NODE_ENV, unless ANTAEUS_AUTH=off", () => {
    for (const NODE_ENV of [undefined, "development", "test"]) {
      expect(loadAntaeusConfig({ NODE_ENV, ...withFile() }).auth.mode, NODE_ENV).toBe("on");
    }
    expect(loadAntaeusConfig({ ...withFile(), ANTAEUS_AUTH: "off" }).auth.mode).toBe("off");
  });

  it("is off for npm start (no file, no ANTAEUS_AUTH), and on in production", () => {
    expect(loadAntaeusConfig({}).auth.mode).toBe("off");
    expect(() => loadAntaeusConfig({ NODE_ENV: "production" })).toThrow(
      /ANTAEUS_AUTH_CONFIG_FILE: is required when auth is on/,
    );
  });
});
