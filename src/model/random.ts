// The seeded PRNG the model module draws from (random initial weights, LoRA dropout masks, sampling).
// xoshiro128** over four 32-bit words, seeded through splitmix32 so nearby seeds give unrelated streams.
// Its whole state is four numbers, so a run can save and restore it exactly.

export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  constructor(seed: number | readonly number[]) {
    this.s = new Uint32Array(4);
    if (typeof seed === 'number') {
      let x = (Math.floor(seed) >>> 0) ^ Math.floor(seed / 4294967296);
      for (let i = 0; i < 4; i++) {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
      if (this.s.every((v) => v === 0)) this.s[0] = 1;
    } else {
      if (seed.length !== 4) throw new Error('Rng: a state is four 32-bit words');
      this.s.set(seed);
    }
  }

  /** A uniformly random 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent generator seeded from this one (advances this one by four draws). */
  fork(): Rng {
    return new Rng([this.nextU32(), this.nextU32(), this.nextU32(), this.nextU32() | 1]);
  }

  /** The exact state (four words); `new Rng(state)` continues the same stream. */
  state(): number[] {
    if (this.spare !== null) this.spare = null; // a cached normal is dropped so the state is the whole truth
    return Array.from(this.s);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
