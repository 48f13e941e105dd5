/**
 * Splits a byte stream into newline-terminated frames, refusing any frame longer than a limit
 * before it is buffered whole.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder()
  private buffer = ""

  constructor(private readonly maxBytes: number) {}

  /** Adds a chunk; returns the complete frames in it, or `undefined` once a frame is too
   * large (counted in UTF-16 units, equal to bytes for the ASCII JSON this protocol sends). */
  push(chunk: Uint8Array | string): ReadonlyArray<string> | undefined {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true })
    const frames: Array<string> = []
    let start = 0
    for (let end = this.buffer.indexOf("\n"); end !== -1; end = this.buffer.indexOf("\n", start)) {
      if (end - start > this.maxBytes) return undefined
      const frame = this.buffer.slice(start, end).replace(/\r$/, "")
      if (frame.length > 0) frames.push(frame)
      start = end + 1
    }
    this.buffer = this.buffer.slice(start)
    return this.buffer.length > this.maxBytes ? undefined : frames
  }
}
