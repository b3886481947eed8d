import { createHmac, randomFillSync } from "node:crypto";

/** Where every random decision comes from: the charge draws and the fault draws. */
export interface Randomness {
  /**
   * A number in [0, 1) for an idempotency key. Seeded, it depends only on the seed and the key,
   * so a key draws the same on every replica and in any request order.
   */
  forKey: (key: string) => number;
  /** A stream of numbers in [0, 1); seeded, each name is its own reproducible sequence. */
  stream: (name: string) => () => number;
}

/** 48 bits: finer than any rate needs, and exact in a double. */
const toUnit = (bytes: Buffer): number => bytes.readUIntBE(0, 6) / 2 ** 48;

/**
 * Unseeded draws: 6 bytes each from the system's generator, fetched 1,024 draws at a time (as
 * randomUUID pools its own): a call into the generator per charge cost more than the charge's
 * JSON (bench:charges).
 */
function systemDraws(): () => number {
  const pool = Buffer.alloc(6 * 1024);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    next += 6;
    return pool.readUIntBE(next - 6, 6) / 2 ** 48;
  };
}

export function createRandomness(seed: number | undefined): Randomness {
  if (seed === undefined) {
    const unit = systemDraws();
    return { forKey: unit, stream: () => unit };
  }
  // NUL separates the parts; keys are printable, so a key never poses as a stream position.
  const hmac = (message: string) =>
    toUnit(createHmac("sha256", String(seed)).update(message).digest());
  return {
    forKey: (key) => hmac(`key\0${key}`),
    stream: (name) => {
      let position = 0;
      return () => hmac(`stream\0${name}\0${position++}`);
    },
  };
}
