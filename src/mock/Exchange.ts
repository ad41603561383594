import type { IncomingMessage, ServerResponse } from "node:http"
import type { Behaviour, ReceivedRequest } from "./Behaviour.js"

/** One request being served: what the dialect handlers need to answer it. */
export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly entry: ReceivedRequest
  /** Parsed JSON body (`undefined` when absent or not JSON). */
  readonly json: any
  /** Size of the raw body in bytes. */
  readonly bodyLength: number
  /** Per-server request number, used to mint deterministic ids. */
  readonly seq: number
  readonly behaviour: Behaviour
  /** Default number of chunks an answer is split into. */
  readonly chunkCount: number
  readonly models: ReadonlyArray<string>
  /** Starts timers that `close()` clears. */
  readonly later: (ms: number, f: () => void) => void
  /** Marks the connection as closed by the mock itself (not a client abort). */
  readonly markFaulted: () => void
}

const JSON_TYPE = "application/json"
const SSE_TYPE = "text/event-stream; charset=utf-8"

export const sendJson = (ex: Exchange, status: number, body: unknown, headers?: Record<string, string>): void => {
  const text = typeof body === "string" ? body : JSON.stringify(body)
  ex.res.writeHead(status, {
    "content-type": JSON_TYPE,
    "content-length": Buffer.byteLength(text),
    ...headers,
    ...ex.behaviour.headers,
  })
  ex.res.end(text)
}

export interface SseFrames {
  /** Every event of a complete stream, each a full SSE frame ending in a blank line. */
  readonly frames: ReadonlyArray<string>
  /** How many trailing frames are terminal (dropped by `omitDone`). */
  readonly terminalCount: number
  /** The dialect's unparseable frame (Anthropic needs an `event:` line for the SDK to parse it). */
  readonly malformedFrame: string
  /** The dialect's in-band error event, given the index it would take. */
  readonly errorFrame: (index: number) => string
  readonly headers?: Record<string, string>
}

export const dataFrame = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`
export const eventFrame = (event: string, value: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`

const has = (n: number | undefined): n is number => typeof n === "number" && n >= 0

/** Writes an SSE answer, applying the stream faults of the behaviour. */
export const sendSse = (ex: Exchange, sse: SseFrames): void => {
  const b = ex.behaviour
  const res = ex.res
  const frames = b.omitDone ? sse.frames.slice(0, sse.frames.length - sse.terminalCount) : sse.frames
  res.writeHead(200, {
    "content-type": SSE_TYPE,
    "cache-control": "no-cache",
    ...sse.headers,
    ...b.headers,
  })
  const slow =
    has(b.firstTokenDelayMs) ||
    has(b.chunkDelayMs) ||
    has(b.cutAfterChunks) ||
    has(b.stallAfterChunks) ||
    has(b.malformedAfterChunks) ||
    has(b.errorAfterChunks)
  if (!slow) {
    // Hot path (benchmarks): one write, no timers.
    res.end(frames.join(""))
    return
  }
  res.flushHeaders()
  let i = 0
  let malformedSent = false
  const step = (): void => {
    if (res.destroyed) return
    if (b.cutAfterChunks === i) {
      ex.markFaulted()
      res.socket?.destroy()
      return
    }
    if (b.stallAfterChunks === i) return
    if (b.errorAfterChunks === i) {
      res.end(sse.errorFrame(i))
      return
    }
    if (b.malformedAfterChunks === i && !malformedSent) {
      malformedSent = true
      if (b.malformedThen === "end") {
        res.end(sse.malformedFrame)
        return
      }
      res.write(sse.malformedFrame)
    }
    if (i >= frames.length) {
      res.end()
      return
    }
    const frame = frames[i++]!
    // Wait for the flush so a following cut cannot discard what was "sent".
    res.write(frame, () => {
      if (has(b.chunkDelayMs) && b.chunkDelayMs > 0 && i < frames.length) ex.later(b.chunkDelayMs, step)
      else step()
    })
  }
  if (has(b.firstTokenDelayMs) && b.firstTokenDelayMs > 0) ex.later(b.firstTokenDelayMs, step)
  else step()
}
