/**
 * java.util.Random, bit for bit: the 48-bit linear congruential generator of the JDK
 * (seed' = seed * 0x5DEECE66D + 0xB mod 2^48), with nextInt(), nextInt(bound),
 * nextLong() and nextDouble() exactly as Java computes them, so a sequence seeded here
 * equals the JDK's for the same seed. The Nexmark generator needs this: Beam's reference
 * generator seeds a Random with each event's id and draws every field from it.
 *
 * The 48-bit seed is held as two 24-bit halves in doubles, so every product is exact
 * (< 2^53) without BigInt on the hot path:
 *   seed = hi * 2^24 + lo,  multiplier = M_HI * 2^24 + M_LO  (M_HI = 0x5DE, M_LO = 0xECE66D)
 *   seed * M mod 2^48 = (lo*M_LO) + 2^24 * ((hi*M_LO + lo*M_HI) mod 2^24)   (carry folded in)
 */

const TWO_24 = 16777216;
const M_LO = 0xece66d;
const M_HI = 0x5de;
const ADDEND = 0xb;
/** 2^-53, Java's DOUBLE_UNIT. */
const DOUBLE_UNIT = 1 / 9007199254740992;
const POW2 = Array.from({ length: 49 }, (_, i) => 2 ** i);

export class JavaRandom {
  private hi = 0;
  private lo = 0;

  /** `seed` is a Java long; a JS number must be an integer in the safe range (event ids are). */
  constructor(seed: number | bigint = 0) {
    this.setSeed(seed);
  }

  /** Same as `new Random(seed)`: the seed is scrambled with the multiplier. */
  setSeed(seed: number | bigint): void {
    let lo: number;
    let hi: number;
    if (typeof seed === 'bigint') {
      const s = BigInt.asUintN(48, seed);
      lo = Number(s & 0xffffffn);
      hi = Number(s >> 24n);
    } else {
      if (!Number.isSafeInteger(seed)) throw new RangeError(`JavaRandom seed must be a safe integer or a bigint, got ${seed}`);
      if (seed < 0) {
        this.setSeed(BigInt(seed));
        return;
      }
      lo = seed % TWO_24;
      hi = Math.floor(seed / TWO_24) % TWO_24;
    }
    // (seed ^ multiplier) & (2^48 - 1), half by half
    this.lo = (lo ^ M_LO) >>> 0;
    this.hi = (hi ^ M_HI) >>> 0;
  }

  /** Java's protected next(bits): advances the seed and returns its top `bits` bits as an int. */
  next(bits: number): number {
    const p = this.lo * M_LO + ADDEND;
    const lo = p % TWO_24;
    const carry = (p - lo) / TWO_24;
    this.hi = (this.hi * M_LO + this.lo * M_HI + carry) % TWO_24;
    this.lo = lo;
    const top = Math.floor((this.hi * TWO_24 + this.lo) / POW2[48 - bits]!);
    return top | 0;
  }

  /** Java's nextInt(): without `bound` any 32-bit int; with it uniform in [0, bound). Throws a RangeError unless bound is a positive 32-bit int. */
  nextInt(bound?: number): number {
    if (bound === undefined) return this.next(32);
    if (!(bound > 0) || !Number.isInteger(bound) || bound > 0x7fffffff) throw new RangeError(`bound must be a positive int, got ${bound}`);
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) {
      // power of two: (int)((bound * (long)r) >> 31); exact since bound is a power of two
      return Math.floor((bound * r) / 2147483648);
    }
    // for (int u = r; u - (r = u % bound) + m < 0; u = next(31)); with int overflow
    for (let u = r; ((u - (r = u % bound) + m) | 0) < 0; u = this.next(31));
    return r;
  }

  /** ((long) next(32) << 32) + next(32), as a bigint (a Java long does not fit a double). */
  nextLong(): bigint {
    const high = BigInt(this.next(32));
    const low = BigInt(this.next(32));
    return BigInt.asIntN(64, (high << 32n) + low);
  }

  /** Java's nextDouble(): uniform in [0, 1), 53 random bits. */
  nextDouble(): number {
    return (this.next(26) * 134217728 + this.next(27)) * DOUBLE_UNIT;
  }

  /** Java's nextBoolean(). */
  nextBoolean(): boolean {
    return this.next(1) !== 0;
  }
}
