/**
 * Splicing a second upstream answer onto a stream the client already has part of (mid-stream
 * rescue, docs/ARCHITECTURE.md "Mid-stream rescue"). Pure: canonical events in, canonical events
 * out, for a fresh client encoder primed with what the client was sent.
 *
 * - `prefill`: the second upstream was asked with the delivered text as an assistant prefill, so
 *   its answer is the rest. The prefill was sent without trailing whitespace (Anthropic refuses
 *   it), so whitespace the client already has is not repeated.
 * - `restart`: the second upstream was asked the original request again. Its answer must start
 *   with exactly the delivered text; only what follows is forwarded. Anything else is an error
 *   event (nothing of the new answer reached the client).
 *
 * Blocks are renumbered onto the client's: the continuation's first text block continues the
 * client's open text block; reasoning of the continuation is dropped (the client is past it).
 */
import type { StreamEvent } from "./Canonical.js"
import { makeError } from "./Errors.js"
import { deliveredText, type Transcript } from "./Transcript.js"

export type ContinuationMode = "prefill" | "restart"

/** The code of the error event a `restart` answer that does not match produces. */
export const CONTINUATION_MISMATCH = "continuation_mismatch"

export interface Splice {
  /** Events that put a fresh client encoder where the client is (their frames are not sent). */
  readonly prime: ReadonlyArray<StreamEvent>
  /** The continuation's events → the events to encode for the client. */
  readonly push: (events: ReadonlyArray<StreamEvent>) => ReadonlyArray<StreamEvent>
}

/** The delivered text without trailing whitespace: what a prefill sends. */
export const prefillText = (transcript: Transcript): string => deliveredText(transcript).trimEnd()

export const primeEvents = (transcript: Transcript, model: string, fallbackId: string): Array<StreamEvent> => {
  const events: Array<StreamEvent> = [{ type: "message_start", id: transcript.messageId ?? fallbackId, model }]
  const last = transcript.texts.length - 1
  transcript.texts.forEach((text, index) => {
    events.push({ type: "block_start", index, block: { type: "text" } })
    if (text !== "") events.push({ type: "text_delta", index, text })
    if (index < last || !transcript.lastOpen) events.push({ type: "block_stop", index })
  })
  return events
}

const mismatch = (message: string): StreamEvent => ({
  type: "error",
  error: makeError("server", `Continuation refused: ${message}`, { status: 502, code: CONTINUATION_MISMATCH }),
})

export const makeSplice = (
  transcript: Transcript,
  mode: ContinuationMode,
  model: string,
  fallbackId: string,
): Splice => {
  const delivered = deliveredText(transcript)
  /** restart: delivered text the new answer has not matched yet. */
  let unmatched = mode === "restart" ? delivered : ""
  /** prefill: whitespace the client has that the prefill left out. */
  let heldWhitespace = mode === "prefill" ? delivered.slice(prefillText(transcript).length) : ""
  /** The client's text block still open, taken over by the continuation's first text block. */
  let open: number | undefined = transcript.lastOpen ? transcript.texts.length - 1 : undefined
  let nextIndex = transcript.texts.length
  /**
   * Continuation block index → client index; reasoning blocks map to `null` (dropped); a text
   * block that repeats text of a block the client already has closed maps to `"repeating"` until
   * it says something new, which then opens a client block of its own.
   */
  const indices = new Map<number, number | null | "repeating">()
  let failed = false

  /** The part of a text delta the client does not have yet ("" while still matching). */
  const newText = (text: string): string | undefined => {
    if (unmatched !== "") {
      if (text.startsWith(unmatched)) {
        const rest = text.slice(unmatched.length)
        unmatched = ""
        return rest
      }
      if (unmatched.startsWith(text)) {
        unmatched = unmatched.slice(text.length)
        return ""
      }
      return undefined
    }
    if (heldWhitespace !== "") {
      let k = 0
      while (k < heldWhitespace.length && k < text.length && text[k] === heldWhitespace[k]) k++
      heldWhitespace = text.length > k ? "" : heldWhitespace.slice(k)
      return text.slice(k)
    }
    return text
  }

  const step = (event: StreamEvent, out: Array<StreamEvent>): void => {
    switch (event.type) {
      case "message_start":
        if (event.usage !== undefined) out.push({ type: "usage", usage: event.usage })
        return
      case "block_start": {
        if (event.block.type === "reasoning") return void indices.set(event.index, null)
        if (event.block.type === "text" && open !== undefined) return void indices.set(event.index, open)
        if (event.block.type === "text" && unmatched !== "") return void indices.set(event.index, "repeating")
        if (unmatched !== "")
          return void out.push(mismatch("the new answer calls a tool before repeating the text already sent"))
        if (open !== undefined) {
          out.push({ type: "block_stop", index: open })
          open = undefined
        }
        const index = nextIndex++
        indices.set(event.index, index)
        return void out.push({ ...event, index })
      }
      case "text_delta": {
        const index = indices.get(event.index)
        if (index === null) return
        const text = newText(event.text)
        if (text === undefined)
          return void out.push(mismatch("the new answer does not start with the text already sent"))
        if (text === "") return
        if (index === "repeating") {
          const opened = nextIndex++
          indices.set(event.index, opened)
          open = opened
          out.push({ type: "block_start", index: opened, block: { type: "text" } })
          return void out.push({ type: "text_delta", index: opened, text })
        }
        if (index === undefined) {
          // Text outside any block the continuation opened: it continues the client's block.
          return void out.push({ type: "text_delta", index: open ?? nextIndex - 1, text })
        }
        return void out.push({ type: "text_delta", index, text })
      }
      case "reasoning_delta":
      case "signature":
      case "tool_input_delta":
      case "block_stop": {
        const index = indices.get(event.index)
        if (index === null || index === undefined || index === "repeating") return
        if (event.type === "block_stop" && index === open) open = undefined
        return void out.push({ ...event, index })
      }
      case "stop":
      case "end":
        if (unmatched !== "") return void out.push(mismatch("the new answer ended before the text already sent"))
        if (open !== undefined && event.type === "stop") {
          out.push({ type: "block_stop", index: open })
          open = undefined
        }
        return void out.push(event)
      default:
        return void out.push(event)
    }
  }

  return {
    prime: primeEvents(transcript, model, fallbackId),
    push: (events) => {
      if (failed) return []
      const out: Array<StreamEvent> = []
      for (const event of events) {
        step(event, out)
        if (out.length > 0 && out[out.length - 1]!.type === "error") {
          failed = true
          break
        }
      }
      return out
    },
  }
}
