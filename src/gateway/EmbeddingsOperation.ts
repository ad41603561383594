import { Either } from "effect"
import type { ProtocolError, UsageDelta } from "../protocol/Canonical.js"
import { type EmbeddingRequest, type EmbeddingResult, estimatePromptTokens } from "../protocol/embeddings/Embedding.js"
import * as GeminiEmbeddings from "../protocol/embeddings/GeminiEmbeddings.js"
import * as OpenAiEmbeddings from "../protocol/embeddings/OpenAiEmbeddings.js"
import type { JsonObject } from "../protocol/Json.js"
import type { Provider } from "../registry/Provider.js"
import { mayEmbed } from "../routing/Capabilities.js"
import { geminiUrl, openAiUrl } from "../upstream/ProviderEndpoints.js"
import { answerObjectOf, type Exchange, type ExchangeRefusal, type Operation } from "./Exchange.js"

/** Who asked: an OpenAI client (`/v1/embeddings`) or a Gemini client and its method. */
export type EmbeddingsClient = "openai" | GeminiEmbeddings.GeminiEmbedMethod

type Answer = Either.Either<{ readonly body: string; readonly usage: UsageDelta }, string>

const usageOf = (reported: number | undefined, request: EmbeddingRequest): UsageDelta => ({
  inputTokens: reported ?? estimatePromptTokens(request.inputs),
})

/** The upstream's answer forwarded byte for byte once it is known to be one (`isAnswer`). */
const relayed =
  (
    isAnswer: (json: JsonObject) => boolean,
    promptTokens: (json: JsonObject) => number | undefined,
    request: EmbeddingRequest,
  ) =>
  (text: string): Answer => {
    const json = answerObjectOf(text)
    if (typeof json === "string") return Either.left(json)
    if (!isAnswer(json)) return Either.left("upstream answered 2xx with a body that is not an embeddings answer")
    return Either.right({ body: text, usage: usageOf(promptTokens(json), request) })
  }

/** The upstream's answer decoded to vectors and written in the client's dialect. */
const converted =
  (
    decode: (json: JsonObject, expected: number) => Either.Either<EmbeddingResult, string>,
    encode: (result: EmbeddingResult, tokens: number) => unknown,
    request: EmbeddingRequest,
  ) =>
  (text: string): Answer => {
    const json = answerObjectOf(text)
    if (typeof json === "string") return Either.left(json)
    const result = decode(json, request.inputs.length)
    if (Either.isLeft(result)) return Either.left(result.left)
    const usage = usageOf(result.right.promptTokens, request)
    return Either.right({ body: JSON.stringify(encode(result.right, usage.inputTokens ?? 0)), usage })
  }

const refused = (provider: Provider, message: string): Either.Either<never, ExchangeRefusal> =>
  Either.left({ _tag: "Unsupported", message: `provider '${provider.id}' cannot take this request: ${message}` })

/** A conversion refuses what the other dialect cannot say, naming it. */
const untranslatable = (
  provider: Provider,
  request: EmbeddingRequest,
): Either.Either<never, ExchangeRefusal> | undefined =>
  request.untranslatable.length === 0
    ? undefined
    : refused(
        provider,
        `${request.untranslatable.map((f) => `'${f}'`).join(", ")} cannot be converted for its ${provider.protocol} protocol`,
      )

const exchange = (
  url: string,
  body: JsonObject,
  translateJson: Exchange["translateJson"],
): Either.Either<Exchange, ExchangeRefusal> =>
  Either.right({ upstreamDialect: undefined, url, body: JSON.stringify(body), headers: undefined, translateJson })

/** An OpenAI client's request: passed through to an OpenAI-protocol upstream, converted for a Gemini one. */
const planForOpenAi = (
  body: JsonObject,
  request: EmbeddingRequest,
  provider: Provider,
  model: string,
  requestedModel: string,
) => {
  if (provider.protocol === "openai") {
    return exchange(
      openAiUrl(provider, "embeddings"),
      { ...body, model },
      relayed(OpenAiEmbeddings.isEmbeddingList, OpenAiEmbeddings.promptTokensOf, request),
    )
  }
  const encoded = GeminiEmbeddings.encodeRequest(request, model)
  if (Either.isLeft(encoded)) return refused(provider, encoded.left.message)
  return (
    untranslatable(provider, request) ??
    exchange(
      geminiUrl(provider, encoded.right.path),
      encoded.right.body,
      converted(
        GeminiEmbeddings.decodeResponse,
        (result, tokens) => OpenAiEmbeddings.encodeResponse(result, request, requestedModel, tokens),
        request,
      ),
    )
  )
}

/** A Gemini client's request: passed through to a Gemini upstream, converted for an OpenAI-protocol one. */
const planForGemini = (
  method: GeminiEmbeddings.GeminiEmbedMethod,
  body: JsonObject,
  request: EmbeddingRequest,
  provider: Provider,
  model: string,
) => {
  if (provider.protocol === "gemini") {
    const prepared = GeminiEmbeddings.passthroughRequest(body, method, model)
    return exchange(
      geminiUrl(provider, prepared.path),
      prepared.body,
      relayed(GeminiEmbeddings.isEmbeddingAnswer, GeminiEmbeddings.promptTokensOf, request),
    )
  }
  return (
    untranslatable(provider, request) ??
    exchange(
      openAiUrl(provider, "embeddings"),
      OpenAiEmbeddings.encodeRequest(request, model),
      converted(OpenAiEmbeddings.decodeResponse, (result) => GeminiEmbeddings.encodeResponse(result, request), request),
    )
  )
}

/**
 * Embeddings as the walk takes them: the candidates are the upstreams that may embed
 * (`routing/Capabilities`), each passed the request in its own dialect.
 */
export const embeddingsOperation = (
  client: EmbeddingsClient,
  body: JsonObject,
  request: EmbeddingRequest,
): Operation => ({
  name: "embeddings",
  need: (facts) => ({
    endpoint: client === "openai" ? "/v1/embeddings" : `:${client}`,
    serves: (candidate) => mayEmbed(candidate.provider, facts.listedEmbedding(candidate.provider.id, candidate.model)),
  }),
  plan: (provider, model, requestedModel) => {
    if (provider.protocol === "anthropic") return refused(provider, "an Anthropic-protocol provider has no embeddings")
    return client === "openai"
      ? planForOpenAi(body, request, provider, model, requestedModel)
      : planForGemini(client, body, request, provider, model)
  },
})

/** The client's body checked and decoded, or the 400 naming what is wrong. */
export const decodeEmbeddings = (
  client: EmbeddingsClient,
  body: JsonObject,
): Either.Either<EmbeddingRequest, ProtocolError> =>
  client === "openai" ? OpenAiEmbeddings.decodeRequest(body) : GeminiEmbeddings.decodeRequest(body, client)
