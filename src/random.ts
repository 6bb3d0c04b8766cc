/**
 * The project's one seeded pseudo-random number generator, passed explicitly to whatever needs
 * randomness (splits, data order, sampling, dropout masks in trainers …). Never `Math.random`.
 *
 * Algorithm (so another language can reproduce a stream):
 * - A seed is an integer 0 ≤ s < 2^64 (a JS number must be a safe integer ≥ 0), or a string, which is
 *   first hashed with 64-bit FNV-1a over its UTF-8 bytes.
 * - SplitMix64 from state s gives two 64-bit outputs z1, z2; the 128-bit xoshiro128** state is
 *   (lo32(z1), hi32(z1), lo32(z2), hi32(z2)) (all-zero is replaced by (1, 0, 0, 0); it never happens
 *   for SplitMix64 outputs in practice).
 * - Each draw is one xoshiro128** step (Blackman & Vigna): result = rotl(s1·5, 7)·9 (mod 2^32), then
 *   t = s1 << 9, s2 ^= s0, s3 ^= s1, s1 ^= s2, s0 ^= s3, s2 ^= t, s3 = rotl(s3, 11).
 * - `float()` = (a >>> 5 · 2^26 + b >>> 6) / 2^53 from two draws a, b (53 random bits, in [0, 1)).
 * - `int(n)` draws uniformly from [0, n) by rejection (no modulo bias): for n ≤ 2^32 from one draw
 *   x, rejecting x ≥ 2^32 − (2^32 mod n); above, from floor(float() · n) (n ≤ 2^53).
 * - `shuffle` is Fisher–Yates from the last index down: swap a[i] with a[int(i + 1)].
 * - `fork(label)` seeds a new generator with FNV-1a-64(label) XOR the current state's first 64 bits
 *   (s0 | s1 << 32), without drawing from this one: the same label at the same point gives the same
 *   stream, and different labels independent ones.
 */

const MASK64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a of a string's UTF-8 bytes. */
export function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & MASK64;
  }
  return hash;
}

/** One SplitMix64 step: the new state and the output. */
export function splitMix64(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: next, value: z ^ (z >> 31n) };
}

export type Seed = number | bigint | string;

/** A seed as the 64-bit integer the generator starts from; throws on a negative, fractional or
 * too-large number. */
export function seedValue(seed: Seed): bigint {
  if (typeof seed === 'string') return fnv1a64(seed);
  if (typeof seed === 'number' && !(Number.isSafeInteger(seed) && seed >= 0)) throw new Error(`seed: expected an integer 0 ≤ seed ≤ 2^53 − 1 or a string, got ${seed}`);
  const value = BigInt(seed);
  if (value < 0n || value > MASK64) throw new Error(`seed: expected 0 ≤ seed < 2^64, got ${seed}`);
  return value;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** A seeded xoshiro128** generator. Its whole state is four 32-bit words (`state()` / `Rng.fromState`),
 * so a run can save and resume it exactly. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: Seed = 42) {
    let state = seedValue(seed);
    const a = splitMix64(state);
    state = a.state;
    const b = splitMix64(state);
    this.setState([Number(a.value & 0xffffffffn), Number(a.value >> 32n), Number(b.value & 0xffffffffn), Number(b.value >> 32n)]);
  }

  /** A generator continuing from a saved `state()`. */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  /** The four 32-bit state words (unsigned). */
  state(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  private setState(state: readonly number[]): void {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error('Rng state: expected four unsigned 32-bit integers');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w >>> 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** An integer uniform in [0, n), n a positive safe integer. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`Rng.int: expected a positive integer, got ${n}`);
    if (n <= 0x100000000) {
      const limit = 0x100000000 - (0x100000000 % n);
      for (;;) {
        const x = this.uint32();
        if (x < limit) return x % n;
      }
    }
    return Math.floor(this.float() * n);
  }

  /** An integer uniform in [lo, hi] (both included). */
  intBetween(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`Rng.intBetween: empty range [${lo}, ${hi}]`);
    return lo + this.int(hi - lo + 1);
  }

  /** A standard normal draw (Box–Muller, one of the pair). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A shuffled copy. */
  shuffled<T>(items: readonly T[]): T[] {
    return this.shuffle([...items]);
  }

  /** `k` distinct items, in random order (a partial Fisher–Yates over a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    if (!Number.isInteger(k) || k < 0 || k > items.length) throw new Error(`Rng.sample: cannot take ${k} of ${items.length}`);
    const copy = [...items];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(copy.length - i);
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, k);
  }

  /** One item, uniformly. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.choice: no items');
    return items[this.int(items.length)];
  }

  /** An independent generator for a named purpose (see the module comment); draws nothing from this one. */
  fork(label: string): Rng {
    const head = BigInt(this.s0) | (BigInt(this.s1) << 32n);
    return new Rng(fnv1a64(label) ^ head);
  }
}

/** A 32-bit hash of a string (the low half of FNV-1a-64 of `seed:text`), for deriving per-item seeds
 * and fingerprints that are stable across runs and platforms. */
export function hash32(text: string, seed = 0): number {
  return Number(fnv1a64(`${seed}:${text}`) & 0xffffffffn);
}
