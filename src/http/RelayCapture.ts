import { StringDecoder } from "node:string_decoder"
import type { RelaySink } from "../gateway/BodyRelay.js"
import { captureAnswer, type RequestRecord } from "../shared/RequestRecord.js"

/** Answers whose bytes are text: what the request log may keep of a relayed answer (never audio or images). */
const TEXTUAL = /^\s*(text\/|application\/(json|x-ndjson|[\w.+-]*\+json)\b)/i

/**
 * `sink` itself, or — when the caller's key keeps bodies and the relayed answer is text — a sink
 * that also hands the request log what it writes, decoded as UTF-8 (the log keeps the first of
 * it). Only the bytes written pass through it: backpressure and errors are the sink's.
 */
export const capturingSink = (
  sink: RelaySink,
  contentType: string | undefined,
  record: RequestRecord | undefined,
): RelaySink => {
  if (record?.logBodies !== true || contentType === undefined || !TEXTUAL.test(contentType)) return sink
  const decoder = new StringDecoder("utf8")
  return {
    write: (chunk) => {
      captureAnswer(record, decoder.write(chunk))
      return sink.write(chunk)
    },
    end: () => {
      captureAnswer(record, decoder.end())
      sink.end()
    },
    destroy: () => sink.destroy(),
    once: (event, listener) => sink.once(event, listener),
  }
}
