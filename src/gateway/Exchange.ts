import { Either } from "effect"
import type { CanonicalRequest, Dialect, ProtocolError, UsageDelta } from "../protocol/Canonical.js"
import { type ContinuationMode, makeSplice, prefillText } from "../protocol/Continuation.js"
import { type ConversionLoss, conversionLoss } from "../protocol/ConversionLoss.js"
import { codecs, upstreamDialect } from "../protocol/Dialect.js"
import { nowSeconds, randomIds } from "../protocol/Ids.js"
import { makeRelay, prepareRequest } from "../protocol/Passthrough.js"
import { SSE_DONE } from "../protocol/Sse.js"
import { lossFor } from "../protocol/TargetLoss.js"
import { makeTranscoder } from "../protocol/Transcoder.js"
import type { Transcript } from "../protocol/Transcript.js"
import { keepsResponses, type Provider } from "../registry/Provider.js"
import type { Candidate, EndpointNeed } from "../routing/Candidates.js"
import { geminiUrl } from "../upstream/ProviderEndpoints.js"
import type { UpstreamUpload } from "../upstream/UpstreamClient.js"
import { joinUrl } from "../upstream/UpstreamHeaders.js"
import type { ResponsesTurn } from "./ResponsesTurn.js"
import type { StreamCodec } from "./StreamCodec.js"
import { relayCodec, transcoderCodec } from "./StreamCodecs.js"

/** One client request as the gateway holds it while it walks the candidates. */
export interface ClientRequest {
  readonly dialect: Dialect
  /** The JSON body as the client sent it. */
  readonly body: Record<string, unknown>
  readonly stream: boolean
  /** The model name the client asked for (echoed back in translated answers). */
  readonly requestedModel: string
  /** The client's provider feature headers (anthropic-beta, …): sent only to an upstream of its own dialect. */
  readonly featureHeaders?: Readonly<Record<string, string>> | undefined
  /** The body decoded to the canonical form, on first use only (passthrough never needs it). */
  readonly canonical: () => Either.Either<CanonicalRequest, ProtocolError>
  /** What is asked of the upstream when it is not generation (embeddings, a pass-through endpoint). */
  readonly operation?: Operation | undefined
  /** A Responses request with state: who keeps the conversation decides how a candidate is asked. */
  readonly turn?: ResponsesTurn | undefined
}

/** What the gateway must send upstream for one attempt and how to read the answer. */
export interface Exchange {
  /** The generation dialect spoken upstream; `undefined` for an `Operation`'s exchange. */
  readonly upstreamDialect: Dialect | undefined
  readonly url: string
  /** JSON text, or an upload streamed through (multipart). */
  readonly body: string | UpstreamUpload
  /** The client's feature headers, when the upstream speaks its dialect. */
  readonly headers: Readonly<Record<string, string>> | undefined
  /** Optional features the conversion left out (ConversionLoss), told to the client in a header. */
  readonly dropped?: ReadonlyArray<string> | undefined
  /** Turns the upstream's 2xx JSON into the client's answer, or says why it is unusable. */
  readonly translateJson: (text: string) => Either.Either<{ readonly body: string; readonly usage: UsageDelta }, string>
  /** Generation streams only. */
  readonly streamCodec?: () => StreamCodec
  /**
   * The answer is relayed to the client as it arrives instead of read whole (`translateJson`
   * unused): an event stream asked for (`"sse"`), or bytes of any other type (audio, a transcript).
   */
  readonly relay?: "sse" | "bytes"
  /**
   * A Responses turn with state: `native` when the provider keeps the conversation (the request
   * went as the client sent it), `gateway` when the gateway keeps it (the whole conversation
   * was sent, without state fields).
   */
  readonly state?: "native" | "gateway"
}

/** A generation exchange: a dialect upstream, and a stream codec for streamed answers. */
export interface GenerationExchange extends Exchange {
  readonly upstreamDialect: Dialect
  readonly body: string
  readonly streamCodec: () => StreamCodec
}

/**
 * A request that is not generation — embeddings, OpenAI's pass-through endpoints — as the walk
 * takes it: the same routing, failover, limits and usage; only which upstreams can take it and
 * the wire exchange with each differ. Built per request by the edge around the checked body.
 */
export interface Operation {
  /** Its `gen_ai.operation.name` (OpenTelemetry GenAI conventions) in metrics: `embeddings`, `text_completion` … */
  readonly name: string
  /** What the candidates must be able to serve: the others are not candidates (a 404 when none is left). */
  readonly need: (catalog: ModelFacts) => EndpointNeed
  /** The wire exchange with one candidate, or why it cannot take this request. */
  readonly plan: (provider: Provider, model: string, requestedModel: string) => Either.Either<Exchange, ExchangeRefusal>
}

/** What the providers' model lists say about a model beyond its name. */
export interface ModelFacts {
  /** Whether the provider's list says the model embeds; `undefined` when it does not say. */
  readonly listedEmbedding: (providerId: string, model: string) => boolean | undefined
}

/** Why a candidate cannot take this request at all. */
export type ExchangeRefusal =
  | { readonly _tag: "Unsupported"; readonly message: string }
  | { readonly _tag: "BadRequest"; readonly error: ProtocolError }
  /** The request uses what the candidate's dialect cannot express: another candidate may serve it natively. */
  | { readonly _tag: "Inexpressible"; readonly message: string }

const upstreamUrl = (provider: Provider, dialect: Dialect, path: string | undefined): string | undefined => {
  switch (dialect) {
    case "openai-chat":
      return joinUrl(provider.baseUrl, provider.paths.chat)
    case "openai-responses":
      return provider.paths.responses === null ? undefined : joinUrl(provider.baseUrl, provider.paths.responses)
    case "anthropic":
      return joinUrl(provider.baseUrl, provider.paths.messages)
    case "gemini":
      return geminiUrl(provider, path ?? "")
  }
}

export const parseObject = (text: string): unknown => {
  try {
    const json: unknown = JSON.parse(text)
    return json !== null && typeof json === "object" && !Array.isArray(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** A 2xx body that carries an error instead of an answer (some aggregators do this). */
const embeddedError = (json: Record<string, unknown>): string | undefined =>
  json.error != null && !("choices" in json) && !("output" in json) && !("content" in json) && !("candidates" in json)
    ? `upstream answered 2xx with an error: ${JSON.stringify(json.error).slice(0, 300)}`
    : undefined

/** A 2xx body's answer object, or (a string) why it is not one. A plain union: no allocation per answer. */
export const answerObjectOf = (text: string): Record<string, unknown> | string => {
  const json = parseObject(text) as Record<string, unknown> | undefined
  if (json === undefined) return "upstream answered 2xx with a body that is not a JSON object"
  return embeddedError(json) ?? json
}

const noEndpoint = (provider: Provider, dialect: Dialect): ExchangeRefusal => ({
  _tag: "Unsupported",
  message: `provider '${provider.id}' has no ${dialect} endpoint`,
})

const DIALECT_NAMES: { readonly [D in Dialect]: string } = {
  "openai-chat": "OpenAI chat completions",
  "openai-responses": "OpenAI Responses",
  anthropic: "Anthropic Messages",
  gemini: "Gemini",
}

const inexpressible = (
  provider: Provider,
  target: Dialect,
  source: Dialect,
  loss: ConversionLoss,
): ExchangeRefusal => ({
  _tag: "Inexpressible",
  message:
    `This request uses ${loss.refused.join(", ")}, which the ${provider.protocol} provider protocol (${DIALECT_NAMES[target]}) ` +
    `of provider '${provider.id}' cannot express; only a provider reached in ${DIALECT_NAMES[source]} can serve it`,
})

/** Refusals and drops of converting `client`'s request for `target`. */
const lossOf = (client: ClientRequest, canonical: CanonicalRequest, target: Dialect): ConversionLoss =>
  lossFor(conversionLoss(client.dialect, client.body, canonical.extra), client.dialect, target, canonical)

/** A conversation a provider holds cannot be continued anywhere else. */
const heldElsewhere = (turn: ResponsesTurn): ExchangeRefusal => ({
  _tag: "Unsupported",
  message: `the previous response is held by provider '${turn.pinned?.provider ?? ""}'`,
})

/**
 * Plans the wire exchange for one candidate. Same dialect on both sides: passthrough, with only
 * the model replaced (and OpenAI stream usage requested). Otherwise the request is converted
 * through the canonical form and the answer converted back into the client's dialect.
 *
 * A Responses turn with state goes as the client sent it to a provider that keeps responses
 * itself (its Responses endpoint, `native`) — unless it continues a response the gateway keeps;
 * any other candidate gets the whole conversation without state fields (`gateway`: the gateway
 * keeps the turn).
 */
export const planExchange = (
  client: ClientRequest,
  provider: Provider,
  model: string,
  options: { readonly avoidResponses?: boolean } = {},
): Either.Either<GenerationExchange, ExchangeRefusal> => {
  const hasResponses = provider.paths.responses !== null && options.avoidResponses !== true
  const turn = client.turn
  if (turn === undefined) return planPlain(client, provider, model, hasResponses)
  if (hasResponses && keepsResponses(provider) && !turn.continuesOwn) {
    return Either.map(planPlain(client, provider, model, true), (e) => ({ ...e, state: "native" as const }))
  }
  if (turn.stateless === undefined) return Either.left(heldElsewhere(turn))
  return Either.map(planPlain(turn.stateless, provider, model, hasResponses), (e) => ({
    ...e,
    state: "gateway" as const,
  }))
}

const planPlain = (
  client: ClientRequest,
  provider: Provider,
  model: string,
  hasResponses: boolean,
): Either.Either<GenerationExchange, ExchangeRefusal> => {
  const dialect = upstreamDialect(provider.protocol, client.dialect, hasResponses)

  if (dialect === client.dialect) {
    const prepared = prepareRequest(dialect, client.body, model, client.stream)
    const url = upstreamUrl(provider, dialect, prepared.path)
    if (url === undefined) return Either.left(noEndpoint(provider, dialect))
    return Either.right({
      upstreamDialect: dialect,
      url,
      body: JSON.stringify(prepared.body),
      headers: client.featureHeaders,
      translateJson: (text) => {
        const json = answerObjectOf(text)
        if (typeof json === "string") return Either.left(json)
        // Byte-faithful: the client gets exactly what the provider sent.
        return Either.right({ body: text, usage: codecs[dialect].decodeResponseUsage(json) ?? {} })
      },
      streamCodec: () =>
        relayCodec(
          makeRelay(dialect, randomIds, prepared.clientWantsUsage),
          dialect === "openai-chat" ? SSE_DONE : undefined,
        ),
    })
  }

  const canonical = client.canonical()
  if (Either.isLeft(canonical)) return Either.left({ _tag: "BadRequest", error: canonical.left })
  const loss = lossOf(client, canonical.right, dialect)
  if (loss.refused.length > 0) return Either.left(inexpressible(provider, dialect, client.dialect, loss))
  const encoded = codecs[dialect].encodeRequest(canonical.right, model, { stream: client.stream })
  const url = upstreamUrl(provider, dialect, encoded.path)
  if (url === undefined) return Either.left(noEndpoint(provider, dialect))
  const context = { model: client.requestedModel, ids: randomIds, now: nowSeconds, request: canonical.right }
  return Either.right({
    upstreamDialect: dialect,
    url,
    body: JSON.stringify(encoded.body),
    headers: undefined,
    dropped: loss.dropped,
    translateJson: (text) => {
      const json = answerObjectOf(text)
      if (typeof json === "string") return Either.left(json)
      const answer = codecs[dialect].decodeResponse(json)
      return Either.right({
        body: JSON.stringify(codecs[client.dialect].encodeResponse(answer, context)),
        usage: answer.usage,
      })
    },
    streamCodec: () => transcoderCodec(makeTranscoder(dialect, client.dialect, context)),
  })
}

/**
 * A continuation of a stream the client has part of (mid-stream rescue), always through the
 * canonical form: `prefill` asks with the delivered text as a trailing assistant message,
 * `restart` asks the original request again; either way the answer is spliced onto the client's
 * stream (Continuation.ts).
 */
export const planContinuation = (
  asked: ClientRequest,
  { provider, model }: Pick<Candidate, "provider" | "model">,
  transcript: Transcript,
  mode: ContinuationMode,
): Either.Either<GenerationExchange, ExchangeRefusal> => {
  // A turn the gateway keeps is continued from the whole conversation (a provider's own store
  // never continues another's stream: StreamHooks offers no rescue there).
  const client = asked.turn === undefined ? asked : asked.turn.stateless
  if (client === undefined) return Either.left(heldElsewhere(asked.turn!))
  const canonical = client.canonical()
  if (Either.isLeft(canonical)) return Either.left({ _tag: "BadRequest", error: canonical.left })
  const request =
    mode === "prefill"
      ? {
          ...canonical.right,
          messages: [
            ...canonical.right.messages,
            { role: "assistant" as const, content: [{ type: "text" as const, text: prefillText(transcript) }] },
          ],
        }
      : canonical.right
  const dialect = upstreamDialect(provider.protocol, client.dialect, provider.paths.responses !== null)
  const loss = dialect === client.dialect ? undefined : lossOf(client, canonical.right, dialect)
  if (loss !== undefined && loss.refused.length > 0)
    return Either.left(inexpressible(provider, dialect, client.dialect, loss))
  const encoded = codecs[dialect].encodeRequest(request, model, { stream: true })
  const url = upstreamUrl(provider, dialect, encoded.path)
  if (url === undefined) return Either.left(noEndpoint(provider, dialect))
  // The rest of the answer names the model that wrote it.
  const context = { model, ids: randomIds, now: nowSeconds, request: canonical.right }
  return Either.right({
    upstreamDialect: dialect,
    url,
    body: JSON.stringify(encoded.body),
    headers: dialect === client.dialect ? client.featureHeaders : undefined,
    dropped: loss?.dropped,
    ...(asked.turn === undefined ? {} : { state: "gateway" as const }),
    translateJson: () => Either.left("a continuation is always streamed"),
    streamCodec: () =>
      transcoderCodec(
        makeTranscoder(dialect, client.dialect, context, {
          splice: makeSplice(transcript, mode, model, randomIds("msg_")),
        }),
      ),
  })
}
