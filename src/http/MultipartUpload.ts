import type { IncomingMessage } from "node:http"
import { Effect, Schema } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import type { UpstreamUpload } from "../upstream/UpstreamClient.js"
import { boundaryOf, makeMultipartScanner, multipartContentType, type PartHead } from "./MultipartScanner.js"
import { RequestTooLarge } from "./RequestBody.js"
import { createSpool, type Piece, type UploadSpool } from "./UploadSpool.js"
import { noteUploadBytes } from "./YoungCollection.js"

/** The gateway could not keep an upload to send it upstream (its temporary file failed: a full disk). */
export class UploadUnavailable extends Schema.TaggedError<UploadUnavailable>()("UploadUnavailable", {
  message: Schema.String,
}) {}

export type UploadProblem = RequestTooLarge | InvalidRequest | UploadUnavailable

/**
 * A multipart upload (`/v1/audio/transcriptions`, `/v1/audio/translations`) read as far as routing
 * needs, and the body each upstream call sends: the client's bytes, its boundary, only the value
 * of the `model` part replaced by the upstream's model.
 *
 * - `model` before any file part (and within the first 64 KiB): **streamed**. Routing starts as
 *   soon as the model is known; the body goes on to the upstream as the client sends it, never
 *   held whole. It can be sent once only (`spent`): after the first call took bytes, no retry and
 *   no failover — the client gets that call's answer or error.
 * - A file part first (the order of the openai SDK and curl), or `model` not near the start:
 *   **spooled** to a temporary file (UploadSpool) until the body is complete, then routed: every
 *   attempt (retries, failover) reads the same bytes again. The file is deleted when the request
 *   is over, however it ends.
 *
 * The whole body is read (MultipartScanner: strict) either way, within `limitBytes`: over it,
 * 413; malformed, a second `model`, no `file`, or a body that ends early: 400. While streamed,
 * such a problem found after routing began stops the upstream call (`problem`).
 */
export interface RoutableUpload {
  /** The `model` field as the client sent it (not checked yet: the edge checks it like every model). */
  readonly model: string | undefined
  /** The `stream` field, when it came before routing. */
  readonly stream: string | undefined
  readonly mode: "streamed" | "spooled"
  /** The body of one upstream call, with `upstreamModel` as the value of the `model` part. */
  readonly bodyFor: (upstreamModel: string) => UpstreamUpload
  /** Fails with a problem of the body found after routing began (streamed only); never succeeds. */
  readonly problem: Effect.Effect<never, UploadProblem>
  /** The problem found so far, if any. */
  readonly currentProblem: () => UploadProblem | undefined
}

export interface UploadReader {
  /** Ends everything the upload holds: stops reading, fails a body still being sent, deletes the file. */
  readonly dispose: () => void
}

/** Bytes of the body kept in memory while looking for `model` before a file part. */
const PREFIX_LIMIT = 64 * 1024
/** Bytes of a streamed body queued for the upstream connection before the client is paused. */
const QUEUE_LIMIT = 256 * 1024
/** The fields read before routing (the model id is at most 256 characters; longer is refused). */
const COLLECT: ReadonlySet<string> = new Set(["model", "stream"])
const COLLECT_LIMIT = 257

const invalid = (message: string, param?: string) =>
  new InvalidRequest(param === undefined ? { message } : { message, param })
const tooLarge = (limit: number) => new RequestTooLarge({ message: `Request body exceeds the limit of ${limit} bytes` })

/**
 * Starts reading `request`'s multipart body. `settle` is called once: with what routing needs,
 * or with why the upload is refused. `bodyRead` is called once the client's body has been read to
 * its end. The caller disposes the reader when the request is over.
 */
export const readUpload = (
  request: IncomingMessage,
  limitBytes: number,
  settle: (result: { readonly upload: RoutableUpload } | { readonly problem: UploadProblem }) => void,
  bodyRead: () => void,
): UploadReader => {
  const declared = request.headers["content-length"]
  const declaredLength = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined
  const parsed = boundaryOf(request.headers["content-type"])
  if ("problem" in parsed) {
    settle({ problem: invalid(parsed.problem) })
    return { dispose: () => {} }
  }
  if (declaredLength !== undefined && declaredLength > limitBytes) {
    settle({ problem: tooLarge(limitBytes) })
    return { dispose: () => {} }
  }
  const { boundary } = parsed
  const contentType = multipartContentType(boundary)

  let state: "pending" | "streamed" | "spooled" | "over" = "pending"
  let settled = false
  let problem: UploadProblem | undefined
  const problemListeners = new Set<(problem: UploadProblem) => void>()
  let received = 0
  let prefix: Array<Buffer> = []
  let prefixBytes = 0
  let spool: UploadSpool | undefined
  let live: LiveBody | undefined
  let modelPart: PartHead | undefined
  let model: { readonly value: string | undefined; readonly start: number; readonly end: number } | undefined
  let stream: string | undefined
  let sawFile = false
  let ended = false

  const detach = () => {
    request.off("data", onData)
    request.off("end", onEnd)
    request.off("error", onAbort)
    request.off("close", onClose)
  }

  const fail = (found: UploadProblem) => {
    if (problem !== undefined || state === "over") return
    problem = found
    detach()
    request.pause()
    live?.fail(new Error(found.message))
    spool?.remove()
    if (!settled) {
      settled = true
      settle({ problem: found })
    } else for (const listener of problemListeners) listener(found)
  }

  const upload = (mode: "streamed" | "spooled", bodyFor: RoutableUpload["bodyFor"]): RoutableUpload => ({
    model: model?.value,
    stream,
    mode,
    bodyFor,
    problem: Effect.async<never, UploadProblem>((resume) => {
      if (problem !== undefined) return resume(Effect.fail(problem))
      const listener = (found: UploadProblem) => resume(Effect.fail(found))
      problemListeners.add(listener)
      return Effect.sync(() => problemListeners.delete(listener))
    }),
    currentProblem: () => problem,
  })

  /** The model is known before any file: route now, stream the rest. */
  const decideStreamed = () => {
    state = "streamed"
    const { start, end } = model!
    const held = prefix
    prefix = []
    const body = (live = new LiveBody(request))
    settled = true
    settle({
      upload: upload("streamed", (upstreamModel) => {
        const value = Buffer.from(upstreamModel, "latin1")
        return {
          contentType,
          contentLength: declaredLength === undefined ? undefined : declaredLength - (end - start) + value.length,
          open: () => body.iterate([...slice(held, 0, start), value, ...slice(held, end, prefixBytes)]),
          spent: () => body.started,
        }
      }),
    })
  }

  /** A file came before the model (or the model is not near the start): keep the whole body. */
  const startSpool = () => {
    state = "spooled"
    spool = createSpool((error) =>
      fail(new UploadUnavailable({ message: `the upload could not be kept for sending: ${error.message}` })),
    )
    for (const chunk of prefix) spool.write(chunk)
    prefix = []
  }

  /** The spooled body is complete: route it. */
  const decideSpooled = () => {
    const kept = spool!
    const { start, end } = model!
    const total = received
    settled = true
    settle({
      upload: upload("spooled", (upstreamModel) => {
        const value = Buffer.from(upstreamModel, "latin1")
        const pieces: ReadonlyArray<Piece> = [{ from: 0, to: start }, value, { from: end, to: total }]
        return {
          contentType,
          contentLength: total - (end - start) + value.length,
          open: () => kept.read(pieces),
          spent: () => false,
        }
      }),
    })
  }

  const scanner = makeMultipartScanner(boundary, COLLECT, COLLECT_LIMIT, {
    onPart: (part) => {
      if (part.name === "file") sawFile = true
      if (part.name === "model") {
        if (modelPart !== undefined) return fail(invalid("the request has more than one 'model' field", "model"))
        if (part.filename !== undefined) return fail(invalid("'model' must be a text field, not a file", "model"))
        modelPart = part
      } else if (part.filename !== undefined && model === undefined && state === "pending") startSpool()
    },
    onPartEnd: (part, end, value) => {
      if (part === modelPart) {
        model = { value, start: part.valueStart, end }
        if (state === "pending") decideStreamed()
      } else if (part.name === "stream" && stream === undefined) stream = value
    },
  })

  const onData = (chunk: Buffer) => {
    received += chunk.length
    noteUploadBytes(chunk.length)
    if (received > limitBytes) return fail(tooLarge(limitBytes))
    const at = state
    if (at === "pending") {
      prefix.push(chunk)
      prefixBytes += chunk.length
    }
    const malformed = scanner.push(chunk)
    if (malformed !== undefined) return fail(invalid(`The multipart body could not be read: ${malformed}`))
    if (problem !== undefined) return
    if (at === "streamed") live!.push(chunk)
    else if (at === "spooled") {
      if (!spool!.write(chunk)) {
        request.pause()
        spool!.onDrain(() => {
          if (problem === undefined && state !== "over") request.resume()
        })
      }
    } else if (state === "pending" && prefixBytes > PREFIX_LIMIT) startSpool()
  }

  const onEnd = () => {
    ended = true
    detach()
    bodyRead()
    if (!scanner.closed())
      return fail(invalid("The multipart body could not be read: it ends before its closing boundary"))
    if (model === undefined) return fail(invalid("you must provide a model parameter", "model"))
    if (!sawFile) return fail(invalid("you must provide a 'file' parameter", "file"))
    if (state === "streamed") return live!.end()
    spool!.finish((error) => {
      if (problem !== undefined || state === "over") return
      if (error !== undefined)
        return fail(new UploadUnavailable({ message: `the upload could not be kept for sending: ${error.message}` }))
      decideSpooled()
    })
  }

  const onAbort = () => fail(invalid("the client closed the connection before the upload ended"))
  const onClose = () => {
    if (!ended) onAbort()
  }

  request.on("data", onData)
  request.once("end", onEnd)
  request.once("error", onAbort)
  request.once("close", onClose)

  return {
    dispose: () => {
      if (state === "over") return
      const wasEnded = ended
      state = "over"
      detach()
      if (!wasEnded) live?.fail(new Error("the request is over"))
      spool?.remove()
      prefix = []
      problemListeners.clear()
    },
  }
}

/** `chunks` (consecutive bytes from offset 0) cut to `[from, to)`, without copying. */
const slice = (chunks: ReadonlyArray<Buffer>, from: number, to: number): Array<Buffer> => {
  const out: Array<Buffer> = []
  let at = 0
  for (const chunk of chunks) {
    const start = Math.max(from, at)
    const end = Math.min(to, at + chunk.length)
    if (start < end) out.push(chunk.subarray(start - at, end - at))
    at += chunk.length
  }
  return out
}

/**
 * The rest of a streamed body as the client sends it: chunks queue here (at most `QUEUE_LIMIT`
 * bytes, then the client is paused) until the upstream connection asks for them.
 */
class LiveBody {
  started = false
  private readonly chunks: Array<Buffer> = []
  private bytes = 0
  private ended = false
  private error: Error | undefined
  private wake: (() => void) | undefined
  private paused = false

  constructor(private readonly request: IncomingMessage) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.bytes += chunk.length
    if (this.bytes > QUEUE_LIMIT && !this.paused) {
      this.paused = true
      this.request.pause()
    }
    this.wakeUp()
  }

  end(): void {
    this.ended = true
    this.wakeUp()
  }

  /** The body breaks: a call sending it fails (never a clean end of a body cut short). */
  fail(error: Error): void {
    if (this.ended && this.chunks.length === 0) return
    this.error = error
    this.chunks.length = 0
    this.wakeUp()
  }

  private wakeUp(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** `head` and then the chunks as they come. One call only takes the body (`started`). */
  async *iterate(head: ReadonlyArray<Buffer>): AsyncGenerator<Uint8Array> {
    if (this.started) throw new Error("a streamed upload can be sent once only")
    this.started = true
    for (const piece of head) if (piece.length > 0) yield piece
    for (;;) {
      if (this.error !== undefined) throw this.error
      const chunk = this.chunks.shift()
      if (chunk !== undefined) {
        this.bytes -= chunk.length
        if (this.paused && this.bytes <= QUEUE_LIMIT / 2) {
          this.paused = false
          this.request.resume()
        }
        yield chunk
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }
}
