/**
 * A small seeded pseudo-random generator for simulations: pure JavaScript, synchronous, and the
 * same sequence on every platform for the same seed. Not for anything secret.
 */

/** Mixes a string into a 32-bit seed (FNV-1a), so labelled sub-seeds stay independent. */
export const hashString = (text: string, seed = 0x811c9dc5): number => {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** A seed derived from `seed` and labels: the same inputs always give the same seed. */
export const derive = (seed: number, ...labels: ReadonlyArray<string | number>): number =>
  hashString(labels.join("/"), hashString(String(seed)))

/** A mulberry32 generator: 32 bits of state, fast, good enough for fault injection. */
export class Prng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min))
  }

  /** True with probability `p`; draws nothing when `p` is 0, so a fault-free run stays cheap. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<A>(items: Array<A>): Array<A> {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1)
      const swap = items[i]
      items[i] = items[j]
      items[j] = swap
    }
    return items
  }
}
