import { redactBody } from "./Redaction.js"

/**
 * Request and response bodies as the request log keeps them, for API keys that opted in
 * (`log_bodies`): credentials redacted (`redactBody`), at most BODY_MAX_BYTES of UTF-8 each (a
 * longer one is cut and marked truncated), and text any Postgres column takes (a NUL or a lone
 * surrogate becomes U+FFFD). Pure.
 */

/** The most a kept body holds: 32 KiB of UTF-8. */
export const BODY_MAX_BYTES = 32 * 1024

/**
 * Characters read past the cap before redacting: a credential that the cut would split is still
 * whole where it is recognised, and the cut then falls well before the end of what was read.
 */
const REDACTION_MARGIN = 4 * 1024

export interface LoggedBody {
  readonly text: string
  /** The body was longer than BODY_MAX_BYTES and was cut. */
  readonly truncated: boolean
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** `text`'s first `max` bytes of UTF-8, never half a character. */
const firstBytes = (text: string, max: number): string => {
  // A character is at least one byte: more than `max` characters can never fit.
  const bytes = Buffer.from(text.length > max ? text.slice(0, max) : text, "utf8")
  if (bytes.length <= max) return text.length > max ? text.slice(0, max) : text
  let end = max
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString("utf8")
}

/** `text` as the request log keeps it. */
export const loggedBody = (text: string): LoggedBody => {
  // Redact a window of the text, not all of it (a body may be megabytes); widen it in the rare
  // case that redactions shortened it so much that the cut would fall near its end.
  let window = BODY_MAX_BYTES + REDACTION_MARGIN
  let redacted = redactBody(text.slice(0, window))
  while (window < text.length && redacted.length < BODY_MAX_BYTES + REDACTION_MARGIN / 2) {
    window *= 2
    redacted = redactBody(text.slice(0, window))
  }
  const storable = redacted.replace(UNSTORABLE, "\uFFFD")
  const kept = firstBytes(storable, BODY_MAX_BYTES)
  return { text: kept, truncated: window < text.length || kept.length < storable.length }
}

/** Collects the first part of a body written in pieces (a stream), enough for `loggedBody`. */
export interface BodyCapture {
  readonly add: (piece: string) => void
  /** What was kept, as the request log keeps it. */
  readonly logged: () => LoggedBody
}

export const makeBodyCapture = (): BodyCapture => {
  const limit = BODY_MAX_BYTES + REDACTION_MARGIN
  let text = ""
  /** Some of the body was not kept. */
  let cut = false
  return {
    add: (piece) => {
      const room = limit - text.length
      if (piece.length > room) {
        cut = true
        if (room > 0) text += piece.slice(0, room)
      } else text += piece
    },
    logged: () => {
      const body = loggedBody(text)
      return cut ? { text: body.text, truncated: true } : body
    },
  }
}
