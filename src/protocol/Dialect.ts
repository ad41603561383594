/** The dialect registry: one codec per wire format, all pure. */
import type { Either } from "effect"
import * as AnthropicRequest from "./anthropic/Request.js"
import * as AnthropicResponse from "./anthropic/Response.js"
import * as AnthropicStream from "./anthropic/Stream.js"
import type {
  CanonicalRequest,
  CanonicalResponse,
  Dialect,
  EncodeContext,
  ErrorInfo,
  IdGenerator,
  ProtocolError,
  StreamDecoder,
  StreamEncoder,
  UsageDelta,
} from "./Canonical.js"
import { errorBody } from "./Errors.js"
import * as GeminiRequest from "./gemini/Request.js"
import * as GeminiResponse from "./gemini/Response.js"
import * as GeminiStream from "./gemini/Stream.js"
import type { JsonObject } from "./Json.js"
import * as ChatRequest from "./openai-chat/Request.js"
import * as ChatResponse from "./openai-chat/Response.js"
import * as ChatStream from "./openai-chat/Stream.js"
import * as ResponsesRequest from "./openai-responses/Request.js"
import * as ResponsesResponse from "./openai-responses/Response.js"
import * as ResponsesStream from "./openai-responses/Stream.js"

export type { Dialect } from "./Canonical.js"

export interface RequestEncodeOptions {
  readonly stream: boolean
  /** openai-chat: which field carries max tokens (default `max_tokens`). */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens"
  /** anthropic: max_tokens when the client gave none (default 4096). */
  readonly defaultMaxTokens?: number
}

export interface EncodedRequest {
  readonly body: JsonObject
  /**
   * Gemini only: the model and streaming live in the URL, e.g.
   * `models/gemini-2.0-flash:streamGenerateContent?alt=sse` (relative to the API version root).
   */
  readonly path?: string
}

export interface DecodeHints {
  /** Gemini: the model comes from the URL path. */
  readonly model?: string
  /** Gemini: streaming is chosen by the endpoint (`streamGenerateContent`). */
  readonly stream?: boolean
}

export interface DialectCodec {
  readonly dialect: Dialect
  decodeRequest(body: unknown, hints?: DecodeHints): Either.Either<CanonicalRequest, ProtocolError>
  encodeRequest(req: CanonicalRequest, upstreamModel: string, opts: RequestEncodeOptions): EncodedRequest
  decodeResponse(json: unknown): CanonicalResponse
  /** Only the usage of a response (what a passthrough needs of it), without decoding the rest. */
  decodeResponseUsage(json: JsonObject): UsageDelta | undefined
  encodeResponse(resp: CanonicalResponse, ctx: EncodeContext): JsonObject
  makeStreamDecoder(ids: IdGenerator): StreamDecoder
  makeStreamEncoder(ctx: EncodeContext): StreamEncoder
  errorBody(e: ErrorInfo): JsonObject
}

/** A response module's part of a codec; its usage decoder reads the answer's `usageField`. */
interface ResponseModule {
  decodeResponse(json: unknown): CanonicalResponse
  decodeUsage(usage: unknown): UsageDelta | undefined
  encodeResponse(resp: CanonicalResponse, ctx: EncodeContext): JsonObject
}

interface StreamModule {
  makeDecoder(ids: IdGenerator): StreamDecoder
  makeEncoder(ctx: EncodeContext): StreamEncoder
}

/** A dialect's codec from its request, response and stream modules. */
const codec = (
  dialect: Dialect,
  request: Pick<DialectCodec, "decodeRequest" | "encodeRequest">,
  response: ResponseModule,
  usageField: string,
  stream: StreamModule,
): DialectCodec => ({
  dialect,
  decodeRequest: request.decodeRequest,
  encodeRequest: request.encodeRequest,
  decodeResponse: response.decodeResponse,
  decodeResponseUsage: (json) => response.decodeUsage(json[usageField]),
  encodeResponse: response.encodeResponse,
  makeStreamDecoder: stream.makeDecoder,
  makeStreamEncoder: stream.makeEncoder,
  errorBody: (e) => errorBody(dialect, e),
})

/** A request module whose encoder gives only the body (the URL path is the provider's fixed one). */
const bodyOnly = (module: {
  decodeRequest(body: unknown): Either.Either<CanonicalRequest, ProtocolError>
  encodeRequest(req: CanonicalRequest, upstreamModel: string, opts: RequestEncodeOptions): JsonObject
}): Pick<DialectCodec, "decodeRequest" | "encodeRequest"> => ({
  decodeRequest: (body) => module.decodeRequest(body),
  encodeRequest: (req, model, opts) => ({ body: module.encodeRequest(req, model, opts) }),
})

export const codecs: { readonly [D in Dialect]: DialectCodec } = {
  "openai-chat": codec("openai-chat", bodyOnly(ChatRequest), ChatResponse, "usage", ChatStream),
  "openai-responses": codec(
    "openai-responses",
    bodyOnly(ResponsesRequest),
    ResponsesResponse,
    "usage",
    ResponsesStream,
  ),
  anthropic: codec("anthropic", bodyOnly(AnthropicRequest), AnthropicResponse, "usage", AnthropicStream),
  // Gemini's request carries its own URL path (model and streaming live there).
  gemini: codec("gemini", GeminiRequest, GeminiResponse, "usageMetadata", GeminiStream),
}

/**
 * The dialect to speak to an upstream of `protocol`. OpenAI upstreams are asked in Responses form
 * only when the client speaks Responses and the provider has a Responses endpoint.
 */
export const upstreamDialect = (
  protocol: "openai" | "anthropic" | "gemini",
  client: Dialect,
  hasResponsesEndpoint: boolean,
): Dialect =>
  protocol === "anthropic"
    ? "anthropic"
    : protocol === "gemini"
      ? "gemini"
      : client === "openai-responses" && hasResponsesEndpoint
        ? "openai-responses"
        : "openai-chat"
