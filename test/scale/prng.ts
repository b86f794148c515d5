/** A seeded random source, so that a failing run replays with the same schedule. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [lo, hi). */
  between(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast and good enough for schedules. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    pick: (xs) => {
      if (xs.length === 0) throw new Error("pick from an empty list");
      return xs[Math.floor(next() * xs.length)]!;
    },
    chance: (p) => next() < p,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
