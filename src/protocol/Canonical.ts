/**
 * The canonical model every dialect converts through. It is content-block based (like
 * Anthropic Messages) so tool calls, tool results, images and reasoning survive a round trip.
 *
 * Token accounting convention (so usage is conserved across dialects):
 * - `inputTokens` counts ALL prompt tokens, including cache reads and cache writes
 *   (OpenAI / Gemini semantics; Anthropic's `input_tokens` excludes them and is converted).
 * - `outputTokens` counts ALL generated tokens, including reasoning tokens
 *   (OpenAI semantics; Gemini's `candidatesTokenCount` excludes thoughts and is converted).
 */
import { Schema } from "effect"
import { compact } from "./Json.js"

export const Dialect = Schema.Literal("openai-chat", "openai-responses", "anthropic", "gemini")
export type Dialect = typeof Dialect.Type

/** Which provider family produced an opaque signature; it is only replayed to the same family. */
export const SignatureOrigin = Schema.Literal("openai", "anthropic", "gemini")
export type SignatureOrigin = typeof SignatureOrigin.Type

export const originOf = (d: Dialect): SignatureOrigin =>
  d === "anthropic" ? "anthropic" : d === "gemini" ? "gemini" : "openai"

// ---------------------------------------------------------------------------------------------
// Content blocks

export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
export type TextBlock = typeof TextBlock.Type

export const ImageSource = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("url"), url: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("base64"), mediaType: Schema.String, data: Schema.String }),
)
export type ImageSource = typeof ImageSource.Type

export const ImageBlock = Schema.Struct({ type: Schema.Literal("image"), source: ImageSource })
export type ImageBlock = typeof ImageBlock.Type

/** Opaque provider signature attached to a block (Anthropic thinking signature, Gemini thoughtSignature, OpenAI encrypted reasoning). */
export const Signature = Schema.Struct({ origin: SignatureOrigin, value: Schema.String })
export type Signature = typeof Signature.Type

export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  /** Parsed JSON arguments (an object in every dialect we know). */
  input: Schema.Unknown,
  signature: Schema.optional(Signature),
})
export type ToolUseBlock = typeof ToolUseBlock.Type

export const ToolResultBlock = Schema.Struct({
  type: Schema.Literal("tool_result"),
  toolUseId: Schema.String,
  content: Schema.Array(Schema.Union(TextBlock, ImageBlock)),
  isError: Schema.Boolean,
})
export type ToolResultBlock = typeof ToolResultBlock.Type

export const ReasoningBlock = Schema.Struct({
  type: Schema.Literal("reasoning"),
  /** Visible thinking / reasoning summary text (may be empty for redacted or encrypted reasoning). */
  text: Schema.String,
  signature: Schema.optional(Signature),
  /** Anthropic `redacted_thinking`: the signature value holds the opaque `data`. */
  redacted: Schema.optional(Schema.Boolean),
})
export type ReasoningBlock = typeof ReasoningBlock.Type

export const ContentBlock = Schema.Union(TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock, ReasoningBlock)
export type ContentBlock = typeof ContentBlock.Type

export const Role = Schema.Literal("user", "assistant")
export type Role = typeof Role.Type

export const Message = Schema.Struct({ role: Role, content: Schema.Array(ContentBlock) })
export type Message = typeof Message.Type

// ---------------------------------------------------------------------------------------------
// Request

export const Tool = Schema.Struct({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  /** JSON Schema of the arguments. */
  parameters: Schema.Unknown,
  strict: Schema.optional(Schema.Boolean),
})
export type Tool = typeof Tool.Type

export const ToolChoice = Schema.Union(
  Schema.Struct({ type: Schema.Literal("auto") }),
  Schema.Struct({ type: Schema.Literal("none") }),
  Schema.Struct({ type: Schema.Literal("required") }),
  Schema.Struct({ type: Schema.Literal("tool"), name: Schema.String }),
)
export type ToolChoice = typeof ToolChoice.Type

export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    name: Schema.String,
    schema: Schema.Unknown,
    strict: Schema.optional(Schema.Boolean),
    description: Schema.optional(Schema.String),
  }),
)
export type ResponseFormat = typeof ResponseFormat.Type

export const ReasoningConfig = Schema.Struct({
  /** OpenAI-style effort ("minimal" | "low" | "medium" | "high" …). */
  effort: Schema.optional(Schema.String),
  /** Anthropic / Gemini thinking budget in tokens. */
  budgetTokens: Schema.optional(Schema.Number),
})
export type ReasoningConfig = typeof ReasoningConfig.Type

export const CanonicalRequest = Schema.Struct({
  /** The model name the client asked for. */
  model: Schema.String,
  system: Schema.Array(TextBlock),
  messages: Schema.Array(Message),
  tools: Schema.Array(Tool),
  toolChoice: Schema.optional(ToolChoice),
  parallelToolCalls: Schema.optional(Schema.Boolean),
  maxTokens: Schema.optional(Schema.Number),
  temperature: Schema.optional(Schema.Number),
  topP: Schema.optional(Schema.Number),
  topK: Schema.optional(Schema.Number),
  frequencyPenalty: Schema.optional(Schema.Number),
  presencePenalty: Schema.optional(Schema.Number),
  seed: Schema.optional(Schema.Number),
  stop: Schema.Array(Schema.String),
  responseFormat: Schema.optional(ResponseFormat),
  reasoning: Schema.optional(ReasoningConfig),
  stream: Schema.Boolean,
  /** The client asked for usage in its stream (OpenAI `stream_options.include_usage`). */
  streamUsage: Schema.Boolean,
  user: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** The dialect the request was decoded from; `extra` is only replayed to that dialect. */
  source: Dialect,
  /** Top-level fields the decoder does not model, carried verbatim to the same dialect. */
  extra: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
})
export type CanonicalRequest = typeof CanonicalRequest.Type

// ---------------------------------------------------------------------------------------------
// Response

export const StopReason = Schema.Literal(
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "content_filter",
  "refusal",
  "other",
)
export type StopReason = typeof StopReason.Type

export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.optional(Schema.Number),
  cacheCreationTokens: Schema.optional(Schema.Number),
  reasoningTokens: Schema.optional(Schema.Number),
})
export type Usage = typeof Usage.Type

/** A usage report inside a stream: present fields override earlier values (every dialect reports cumulative counts). */
export type UsageDelta = Partial<Usage>

export const emptyUsage: Usage = { inputTokens: 0, outputTokens: 0 }

export const mergeUsage = (a: UsageDelta, b: UsageDelta): UsageDelta => {
  const out: Record<string, number> = { ...(a as Record<string, number>) }
  for (const [k, v] of Object.entries(b)) if (typeof v === "number") out[k] = v
  return out as UsageDelta
}

export const completeUsage = (u: UsageDelta): Usage => ({
  ...u,
  inputTokens: u.inputTokens ?? 0,
  outputTokens: u.outputTokens ?? 0,
})

export const CanonicalResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  /** Unix seconds. */
  created: Schema.optional(Schema.Number),
  content: Schema.Array(ContentBlock),
  stopReason: StopReason,
  stopSequence: Schema.optional(Schema.NullOr(Schema.String)),
  usage: Usage,
})
export type CanonicalResponse = typeof CanonicalResponse.Type

/**
 * A decoded answer: the id and model as the provider gave them (`""` when it gave none), its usage
 * with zeros for the counts it left out, and no `created` or `stopSequence` key when absent.
 */
export const decodedResponse = (answer: {
  readonly id: string | undefined
  readonly model: string | undefined
  readonly created?: number | undefined
  readonly content: ReadonlyArray<ContentBlock>
  readonly stopReason: StopReason
  readonly stopSequence?: string | null | undefined
  readonly usage: UsageDelta | undefined
}): CanonicalResponse =>
  compact({ ...answer, id: answer.id ?? "", model: answer.model ?? "", usage: completeUsage(answer.usage ?? {}) })

// ---------------------------------------------------------------------------------------------
// Errors

/** Dialect-neutral error classes; each dialect names them its own way (see Errors.ts). */
export const ErrorKind = Schema.Literal(
  "invalid_request",
  "authentication",
  "permission",
  "not_found",
  "request_too_large",
  "rate_limit",
  "overloaded",
  "timeout",
  "server",
)
export type ErrorKind = typeof ErrorKind.Type

export const ErrorInfo = Schema.Struct({
  kind: ErrorKind,
  message: Schema.String,
  /** HTTP status to answer with (before commit) / the upstream status. */
  status: Schema.Number,
  code: Schema.optional(Schema.NullOr(Schema.String)),
  param: Schema.optional(Schema.NullOr(Schema.String)),
})
export type ErrorInfo = typeof ErrorInfo.Type

/** A request body that cannot be decoded in its dialect. */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  dialect: Dialect,
  message: Schema.String,
  param: Schema.optional(Schema.String),
}) {}

// ---------------------------------------------------------------------------------------------
// Stream events: what every dialect's stream decodes to and is encoded from.

export type BlockStart =
  | { readonly type: "text" }
  | { readonly type: "reasoning"; readonly redacted?: boolean }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string }

export type StreamEvent =
  | {
      readonly type: "message_start"
      readonly id: string
      readonly model: string
      readonly created?: number
      readonly usage?: UsageDelta
    }
  /** `index` is the canonical block index: 0, 1, 2 … in order of first appearance. */
  | { readonly type: "block_start"; readonly index: number; readonly block: BlockStart }
  | { readonly type: "text_delta"; readonly index: number; readonly text: string }
  | { readonly type: "reasoning_delta"; readonly index: number; readonly text: string }
  | { readonly type: "signature"; readonly index: number; readonly signature: Signature }
  | { readonly type: "tool_input_delta"; readonly index: number; readonly partialJson: string }
  | { readonly type: "block_stop"; readonly index: number }
  | { readonly type: "usage"; readonly usage: UsageDelta }
  | { readonly type: "stop"; readonly reason: StopReason; readonly stopSequence?: string | null }
  /** The upstream signalled a complete, successful end. */
  | { readonly type: "end" }
  /** An in-band upstream error, a malformed frame or a truncated stream. Terminal. */
  | { readonly type: "error"; readonly error: ErrorInfo }

/** One parsed SSE event (an event named "message", the SSE default, counts as unnamed). */
export interface SseEvent {
  readonly event?: string | undefined
  readonly data: string
}

/** Decodes one upstream dialect's SSE events. Create one per stream; it holds the stream's state. */
export interface StreamDecoder {
  push(event: SseEvent): ReadonlyArray<StreamEvent>
  /** The upstream body ended. Emits `end`, or an `error` when the stream was truncated. */
  finish(): ReadonlyArray<StreamEvent>
}

/** Encodes canonical stream events as SSE frames of the client's dialect. Create one per stream. */
export interface StreamEncoder {
  push(event: StreamEvent): ReadonlyArray<string>
  /** The stream ended: terminal frames, or an in-band error if no successful end was seen. */
  finish(): ReadonlyArray<string>
  /** End the stream with an in-band error in this dialect (after commit). */
  error(error: ErrorInfo): ReadonlyArray<string>
  /** True once terminal frames (success or error) were produced; later calls produce nothing. */
  readonly done: boolean
}

/** Injectable id generator: `ids("chatcmpl-")` → "chatcmpl-…". */
export type IdGenerator = (prefix: string) => string

export interface EncodeContext {
  /** The model name the client asked for (echoed back). */
  readonly model: string
  readonly ids: IdGenerator
  /** Unix seconds. */
  readonly now: () => number
  /** The decoded client request (Responses echoes request fields in its objects; OpenAI chat honours `streamUsage`). */
  readonly request?: CanonicalRequest
}
