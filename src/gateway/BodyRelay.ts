import { StringDecoder } from "node:string_decoder"
import { createParser } from "eventsource-parser"
import { mergeUsage, type UsageDelta } from "../protocol/Canonical.js"
import { isObject, parseJson } from "../protocol/Json.js"
import { passThroughUsage } from "../protocol/passthrough/PassThroughUsage.js"
import type { UpstreamStream } from "../upstream/UpstreamClient.js"
import type { StreamCodec } from "./StreamCodec.js"
import type { CommitHooks } from "./StreamCommit.js"

/** What a relayed answer is metered by (a stream's finish hook reads it); a stream's codec also has its transcript. */
export type Metered = Pick<StreamCodec, "usage" | "skippedFrames"> & Partial<Pick<StreamCodec, "transcript">>

/** Where a relayed body is written: the client's response. */
export interface RelaySink {
  write(chunk: Buffer): boolean
  end(): void
  destroy(): void
  once(event: "drain", listener: () => void): unknown
}

/**
 * An upstream answer relayed to the client as it arrives — audio, an SSE stream of a pass-through
 * endpoint, a transcript — bytes untouched, with its own content type. It committed when the
 * upstream answered 2xx: a body that breaks after that destroys the client's response (the client
 * sees a cut, never a clean end).
 */
export interface RelayedBody {
  /** The upstream's `content-type` (unchecked: the edge makes it a safe header value). */
  readonly contentType: string | undefined
  readonly contentLength: string | undefined
  /** Writes the body into `sink` with backpressure and ends it. Call once. */
  readonly relayTo: (sink: RelaySink) => void
  /** The client went away: stop and abort the upstream call. */
  readonly cancel: () => void
}

/** Most bytes of a JSON answer kept to read its usage (a transcript; larger ones are not metered). */
const JSON_TAP_LIMIT = 256 * 1024

interface UsageTap extends Metered {
  push(chunk: Buffer): void
  end(): void
}

/** Reads the usage an answer reports as it passes: in SSE events, or in a JSON body. */
const usageTap = (contentType: string | undefined): UsageTap => {
  let usage: UsageDelta = {}
  const read = (text: string) => {
    if (!text.includes('"usage"')) return
    const json = parseJson(text)
    const found = json.ok && isObject(json.value) ? passThroughUsage(json.value) : undefined
    if (found !== undefined) usage = mergeUsage(usage, found)
  }
  const metered = { usage: () => usage, skippedFrames: () => 0 }
  if (contentType?.startsWith("text/event-stream")) {
    const decoder = new StringDecoder("utf8")
    const parser = createParser({ onEvent: (event) => read(event.data) })
    return {
      ...metered,
      push: (chunk) => parser.feed(decoder.write(chunk)),
      end: () => parser.feed(decoder.end() + "\n\n"),
    }
  }
  if (contentType?.startsWith("application/json")) {
    const chunks: Array<Buffer> = []
    let size = 0
    const push = (chunk: Buffer) => {
      size += chunk.length
      if (size <= JSON_TAP_LIMIT) chunks.push(chunk)
    }
    return {
      ...metered,
      push,
      end: () => (size <= JSON_TAP_LIMIT ? read(Buffer.concat(chunks).toString("utf8")) : undefined),
    }
  }
  return { ...metered, push: () => {}, end: () => {} }
}

const digits = (value: string | undefined) => (value !== undefined && /^\d{1,15}$/.test(value) ? value : undefined)

/** The committed relay of `upstream`'s 2xx answer; `hooks` meter it when it ends, however it ends. */
export const relayBody = (upstream: UpstreamStream, hooks: (metered: Metered) => CommitHooks): RelayedBody => {
  const contentType = upstream.headers["content-type"]
  const tap = usageTap(contentType)
  const { onFinish } = hooks(tap)
  let finished = false
  const finish = (complete: boolean, error?: string) => {
    if (finished) return
    finished = true
    onFinish(error === undefined ? { complete } : { complete, error })
  }
  const body = upstream.body
  return {
    contentType,
    contentLength: digits(upstream.headers["content-length"]),
    relayTo: (sink) => {
      body.on("data", (chunk: Buffer) => {
        tap.push(chunk)
        if (!sink.write(chunk)) {
          body.pause()
          sink.once("drain", () => body.resume())
        }
      })
      body.once("end", () => {
        tap.end()
        finish(true)
        sink.end()
      })
      body.once("error", (cause) => {
        finish(false, upstream.bodyError(cause).message)
        sink.destroy()
      })
    },
    cancel: () => {
      if (finished) return
      upstream.abort()
      finish(false, "client disconnected")
    },
  }
}
