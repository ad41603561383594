/**
 * What a client has been sent of a streamed answer, in canonical terms: the text of each text
 * block, whether the last one is still open, and anything that makes the answer impossible to
 * continue elsewhere (a tool call or reasoning already sent, several choices). Mid-stream rescue
 * (docs/ARCHITECTURE.md, "Mid-stream rescue") continues an answer from this.
 */
import type { StreamEvent } from "./Canonical.js"
import { asArray, asObject, isObject } from "./Json.js"

export interface Transcript {
  /** The message id the client saw, when the stream carried one. */
  readonly messageId: string | undefined
  /** The text of each text block sent, in order. */
  readonly texts: ReadonlyArray<string>
  /** The last text block is still open (the cut came inside it). */
  readonly lastOpen: boolean
  /** Why this answer cannot be continued, if it cannot. */
  readonly blocker: string | undefined
}

export interface TranscriptRecorder {
  /** One canonical event as it was handed to the client's encoder. */
  readonly observe: (event: StreamEvent) => void
  /** One OpenAI chat chunk relayed as it is (the passthrough path decodes no canonical events). */
  readonly observeChatChunk: (chunk: Record<string, unknown>) => void
  readonly snapshot: () => Transcript
}

export const makeTranscriptRecorder = (): TranscriptRecorder => {
  let messageId: string | undefined
  const texts: Array<string> = []
  /** Canonical block index → position in `texts`. */
  const positions = new Map<number, number>()
  let open: number | undefined
  let blocker: string | undefined

  const block = (kind: string) => {
    blocker ??= `a ${kind} was already sent`
  }

  const observe = (event: StreamEvent): void => {
    switch (event.type) {
      case "message_start":
        messageId ??= event.id
        return
      case "block_start":
        if (event.block.type !== "text") return block(event.block.type === "tool_use" ? "tool call" : "reasoning block")
        positions.set(event.index, texts.length)
        open = event.index
        texts.push("")
        return
      case "text_delta": {
        const at = positions.get(event.index)
        if (at !== undefined) texts[at] += event.text
        return
      }
      case "block_stop":
        if (open === event.index) open = undefined
        return
      case "reasoning_delta":
        return block("reasoning block")
      case "tool_input_delta":
        return block("tool call")
      default:
        return
    }
  }

  let chatText = -1
  const observeChatChunk = (chunk: Record<string, unknown>): void => {
    if (messageId === undefined && typeof chunk.id === "string") messageId = chunk.id
    for (const raw of asArray(chunk.choices)) {
      if (!isObject(raw)) continue
      if ((typeof raw.index === "number" ? raw.index : 0) !== 0) block("second choice")
      const delta = asObject(raw.delta)
      if (asArray(delta.tool_calls).length > 0) block("tool call")
      if (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") block("reasoning block")
      if (typeof delta.reasoning === "string" && delta.reasoning !== "") block("reasoning block")
      if (typeof delta.refusal === "string" && delta.refusal !== "") block("refusal")
      if (typeof delta.content === "string" && delta.content !== "") {
        if (chatText < 0) {
          chatText = texts.length
          texts.push("")
          open = 0
        }
        texts[chatText] += delta.content
      }
    }
  }

  return {
    observe,
    observeChatChunk,
    snapshot: () => ({ messageId, texts: [...texts], lastOpen: open !== undefined, blocker }),
  }
}

/** All the text the client has, as one string. */
export const deliveredText = (transcript: Transcript): string => transcript.texts.join("")
