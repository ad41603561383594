/** The dialect registry: one codec per wire format, all pure. */
import type { Either } from "effect"
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
import type { JsonObject } from "./Json.js"
import * as AnthropicRequest from "./anthropic/Request.js"
import * as AnthropicResponse from "./anthropic/Response.js"
import * as AnthropicStream from "./anthropic/Stream.js"
import * as GeminiRequest from "./gemini/Request.js"
import * as GeminiResponse from "./gemini/Response.js"
import * as GeminiStream from "./gemini/Stream.js"
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

export const codecs: { readonly [D in Dialect]: DialectCodec } = {
  "openai-chat": {
    dialect: "openai-chat",
    decodeRequest: (body) => ChatRequest.decodeRequest(body),
    encodeRequest: (req, model, opts) => ({ body: ChatRequest.encodeRequest(req, model, opts) }),
    decodeResponse: ChatResponse.decodeResponse,
    decodeResponseUsage: (json) => ChatResponse.decodeUsage(json.usage),
    encodeResponse: ChatResponse.encodeResponse,
    makeStreamDecoder: ChatStream.makeDecoder,
    makeStreamEncoder: ChatStream.makeEncoder,
    errorBody: (e) => errorBody("openai-chat", e),
  },
  "openai-responses": {
    dialect: "openai-responses",
    decodeRequest: (body) => ResponsesRequest.decodeRequest(body),
    encodeRequest: (req, model, opts) => ({ body: ResponsesRequest.encodeRequest(req, model, opts) }),
    decodeResponse: ResponsesResponse.decodeResponse,
    decodeResponseUsage: (json) => ResponsesResponse.decodeUsage(json.usage),
    encodeResponse: ResponsesResponse.encodeResponse,
    makeStreamDecoder: ResponsesStream.makeDecoder,
    makeStreamEncoder: ResponsesStream.makeEncoder,
    errorBody: (e) => errorBody("openai-responses", e),
  },
  anthropic: {
    dialect: "anthropic",
    decodeRequest: (body) => AnthropicRequest.decodeRequest(body),
    encodeRequest: (req, model, opts) => ({ body: AnthropicRequest.encodeRequest(req, model, opts) }),
    decodeResponse: AnthropicResponse.decodeResponse,
    decodeResponseUsage: (json) => AnthropicResponse.decodeUsage(json.usage),
    encodeResponse: AnthropicResponse.encodeResponse,
    makeStreamDecoder: AnthropicStream.makeDecoder,
    makeStreamEncoder: AnthropicStream.makeEncoder,
    errorBody: (e) => errorBody("anthropic", e),
  },
  gemini: {
    dialect: "gemini",
    decodeRequest: (body, hints) => GeminiRequest.decodeRequest(body, hints),
    encodeRequest: (req, model, opts) => GeminiRequest.encodeRequest(req, model, opts),
    decodeResponse: GeminiResponse.decodeResponse,
    decodeResponseUsage: (json) => GeminiResponse.decodeUsage(json.usageMetadata),
    encodeResponse: GeminiResponse.encodeResponse,
    makeStreamDecoder: GeminiStream.makeDecoder,
    makeStreamEncoder: GeminiStream.makeEncoder,
    errorBody: (e) => errorBody("gemini", e),
  },
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
