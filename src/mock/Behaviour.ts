import type { MockForm } from "./OpenAIAudioUpload.js"

/**
 * What a scripted request should do: a transport fault, an HTTP error, a stream fault, or a
 * controlled answer. Fields combine (e.g. `{ text, chunkDelayMs, cutAfterChunks }`).
 */
export interface Behaviour {
  /** Only requests matching this are served by the entry (queue entries only). */
  readonly match?: BehaviourMatch

  // --- transport faults ---------------------------------------------------------------
  /** Destroy the socket before any response header is written. */
  readonly reset?: boolean
  /** Never answer; the connection stays open until the client gives up or `close()`. */
  readonly hang?: boolean
  /** Wait this long before writing headers. */
  readonly delayMs?: number

  // --- HTTP-level answer --------------------------------------------------------------
  /** Answer with this status. Without `body`, a body in the dialect's own error shape is generated. */
  readonly status?: number
  /** Raw response body: an object is sent as JSON, a string as-is. */
  readonly body?: unknown
  /** Extra response headers (also added to successful answers), e.g. `{ "retry-after": "1" }`. */
  readonly headers?: Readonly<Record<string, string>>
  /** Message used in a generated error body. */
  readonly errorMessage?: string

  // --- stream faults (SSE answers only; a "chunk" is one SSE event, `[DONE]` included) ---
  /** Headers go out at once; the first SSE event waits this long. */
  readonly firstTokenDelayMs?: number
  /** Wait between SSE events (and between the 16 KiB chunks of a binary download, e.g. speech). */
  readonly chunkDelayMs?: number
  /** Send N events, then destroy the socket. */
  readonly cutAfterChunks?: number
  /** Send N events, then keep the connection open and silent. */
  readonly stallAfterChunks?: number
  /** After N events, send `data: {not json`; then continue (default) or end the response. */
  readonly malformedAfterChunks?: number
  readonly malformedThen?: "continue" | "end"
  /** After N events, send the dialect's in-band error event and end the response. */
  readonly errorAfterChunks?: number
  /** End the stream without the terminal event (`[DONE]`, `message_stop`, `response.completed`). */
  readonly omitDone?: boolean

  // --- answer content -----------------------------------------------------------------
  /** The answer text (default: `Hello from mock: <last user text>`). */
  readonly text?: string
  /** The answer as explicit stream chunks (their concatenation is the text). */
  readonly chunks?: ReadonlyArray<string>
  /** Split the text into this many stream chunks (default: the server's `chunkCount`). */
  readonly chunkCount?: number
  /** Answer with these tool calls (several = parallel tool calls). */
  readonly toolCalls?: ReadonlyArray<ToolCallSpec>
  /** Reasoning text: Anthropic thinking block, `reasoning_content` (chat), reasoning summary item (Responses), `thought` part (Gemini). */
  readonly thinking?: string
  /** Finish reason in neutral terms, mapped to each dialect. */
  readonly finishReason?: FinishReason
  /** Token counts to report instead of the deterministic estimate. */
  readonly usage?: UsageSpec
}

export interface BehaviourMatch {
  /** Exact pathname (no query) or a RegExp tested against it. */
  readonly path?: string | RegExp
  /** The requested model (body `model`, or the Gemini path segment). */
  readonly model?: string | RegExp
}

export interface ToolCallSpec {
  readonly name: string
  /** An object (JSON-encoded) or an already encoded JSON string. */
  readonly arguments?: unknown
  readonly id?: string
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter"

export interface UsageSpec {
  readonly inputTokens?: number
  readonly outputTokens?: number
  readonly cachedTokens?: number
  readonly cacheCreationTokens?: number
  readonly reasoningTokens?: number
}

/** A behaviour chosen per request; return `undefined` to answer normally. */
export type BehaviourFn = (request: ReceivedRequest) => Behaviour | undefined

export type Dialect = "openai" | "anthropic" | "gemini"

export interface ReceivedRequest {
  /** 1-based arrival number since start or the last `reset()` (what a `BehaviourFn` can key on). */
  readonly n: number
  readonly method: string
  /** Pathname without the query string. */
  readonly path: string
  /** The raw request target, query included. */
  readonly url: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** Parsed JSON, else the raw text, else `undefined` for an empty body (a multipart body: `form` and `raw`). */
  body: unknown
  /** A multipart/form-data body as busboy reads it (`/v1/audio/transcriptions`, …), or why it could not. */
  form?: MockForm | string
  /** The bytes of a multipart body, as received. */
  raw?: Buffer
  /** The requested model, when the request names one. */
  model: string | undefined
  dialect: Dialect
  /** `Date.now()` at arrival. */
  readonly at: number
  /** The client closed the connection before the response was complete. */
  aborted: boolean
  /** The response was completely written. */
  finished: boolean
  /** The behaviour that served it (scripted or default), if any. */
  behaviour: Behaviour | undefined
}

/** An OpenAI-shaped `context_length_exceeded` error, as the real API sends it with status 400. */
export const contextLengthExceeded = (model = "the model"): Behaviour => ({
  status: 400,
  body: {
    error: {
      message: `This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages. (${model})`,
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
  },
})
