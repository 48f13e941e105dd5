/**
 * Splits a byte stream into newline-terminated frames, counting bytes exactly and refusing a
 * frame longer than a limit before it is buffered whole. Splitting on the byte 0x0a is safe
 * for UTF-8: no multi-byte sequence contains it.
 */
export class LineSplitter {
  private readonly encoder = new TextEncoder()
  private readonly decoder = new TextDecoder()
  /** Bytes of the unfinished frame, in arrival order. */
  private pending: Array<Uint8Array> = []
  private pendingBytes = 0
  private refused = false

  constructor(readonly maxBytes: number) {}

  /** Adds a chunk; returns the frames it completes (empty lines and a trailing `\r` dropped),
   * or `undefined` once a frame is over the limit. After that every chunk is refused, as the
   * stream can no longer be split reliably. */
  push(chunk: Uint8Array | string): ReadonlyArray<string> | undefined {
    if (this.refused) return undefined
    const bytes = typeof chunk === "string" ? this.encoder.encode(chunk) : chunk
    const frames: Array<string> = []
    let start = 0
    for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
      if (this.pendingBytes + end - start > this.maxBytes) return this.refuse()
      const frame = this.take(bytes.subarray(start, end)).replace(/\r$/, "")
      if (frame.length > 0) frames.push(frame)
      start = end + 1
    }
    if (this.pendingBytes + bytes.length - start > this.maxBytes) return this.refuse()
    if (start < bytes.length) {
      // a copy, so a small remainder does not pin the whole chunk in memory
      this.pending.push(bytes.slice(start))
      this.pendingBytes += bytes.length - start
    }
    return frames
  }

  /** Decodes the pending bytes followed by `tail`, and empties the buffer. */
  private take(tail: Uint8Array): string {
    if (this.pending.length === 0) return this.decoder.decode(tail)
    const whole = new Uint8Array(this.pendingBytes + tail.length)
    let offset = 0
    for (const part of this.pending) {
      whole.set(part, offset)
      offset += part.length
    }
    whole.set(tail, offset)
    this.pending = []
    this.pendingBytes = 0
    return this.decoder.decode(whole)
  }

  private refuse(): undefined {
    this.refused = true
    this.pending = []
    this.pendingBytes = 0
    return undefined
  }
}
