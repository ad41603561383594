import { Duration, Effect, Either } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Principal } from "../identity/Principal.js"
import type { CanonicalRequest, ProtocolError } from "../protocol/Canonical.js"
import { NO_LOSS } from "../protocol/ConversionLoss.js"
import type { JsonObject } from "../protocol/Json.js"
import {
  type CountDialect,
  countBody,
  countLoss,
  countOf,
  decodeCountRequest,
  encodeCountRequest,
  promptText,
} from "../protocol/TokenCount.js"
import type { Provider } from "../registry/Provider.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import type { Candidate } from "../routing/Candidates.js"
import { KeyPool } from "../routing/KeyPool.js"
import { classify } from "../routing/RetryPolicy.js"
import { Router } from "../routing/Router.js"
import type { UpstreamFailure } from "../shared/UpstreamFailure.js"
import { ModelCatalog } from "../upstream/ModelCatalog.js"
import { geminiUrl } from "../upstream/ProviderEndpoints.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { joinUrl } from "../upstream/UpstreamHeaders.js"
import { outcomeOf } from "./FailureOutcome.js"
import { InvalidRequest } from "./GatewayError.js"
import { memoize, type Served } from "./GatewayRequest.js"
import { logRequestWarning } from "./RequestLog.js"
import { makeTokenEstimator } from "./TokenEstimate.js"

/** A token-count request as the HTTP edge hands it over (Anthropic count_tokens or Gemini countTokens). */
export interface TokenCountRequest {
  readonly dialect: CountDialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly principal: Principal
  readonly requestId?: string | undefined
  /** The client's provider feature headers (anthropic-beta, …): sent only to an upstream of its own dialect. */
  readonly featureHeaders?: Readonly<Record<string, string>> | undefined
}

/** The count in the client's dialect: counted by a provider (`served`), or estimated by the gateway. */
export interface TokenCountAnswer {
  readonly _tag: "Count"
  readonly body: string
  readonly source: "provider" | "estimate"
  readonly served: Served | undefined
  /** What the estimate could not read (ConversionLoss names): not counted. */
  readonly uncounted?: ReadonlyArray<string> | undefined
}

/** Providers asked before the gateway estimates instead (each once, with one key). */
const MAX_PROVIDER_CALLS = 2

/** The counting dialect of a provider's protocol, when it has a counting endpoint. */
const countDialectOf = (provider: Provider): CountDialect | undefined =>
  provider.protocol === "anthropic" ? "anthropic" : provider.protocol === "gemini" ? "gemini" : undefined

const countUrl = (provider: Provider, dialect: CountDialect, path: string | undefined): string =>
  dialect === "anthropic"
    ? joinUrl(provider.baseUrl, `${provider.paths.messages}/count_tokens`)
    : geminiUrl(provider, path ?? "")

/** What asking one provider came to. */
type Asked =
  | { readonly _tag: "Counted"; readonly body: string; readonly dropped?: ReadonlyArray<string> | undefined }
  /** The provider refused the request itself (400, 422 …): retrying elsewhere cannot fix it. */
  | { readonly _tag: "Refused"; readonly failure: UpstreamFailure }
  | { readonly _tag: "Failed"; readonly reason: string }

const invalid = (error: ProtocolError) =>
  new InvalidRequest({ message: error.message, ...(error.param !== undefined ? { param: error.param } : {}) })

/**
 * Token counting, routed like generation (the model resolved, the caller's allow-list applied,
 * circuits read): the plan's candidates that have a counting endpoint (Anthropic- and
 * Gemini-protocol providers) are asked in plan order, the request converted to their dialect when
 * needed; a count the provider refused as invalid is relayed as its error. When none can count —
 * an OpenAI-protocol provider, a failure, a timeout — the gateway estimates (TokenEstimate).
 * Counting is side traffic: it records no usage, and its failures touch no circuit, metric or key
 * back-off of the generation traffic.
 */
export class TokenCounter extends Effect.Service<TokenCounter>()("gateway/gateway/TokenCounter", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const router = yield* Router
    const keyPool = yield* KeyPool
    const upstream = yield* UpstreamClient
    const estimate = makeTokenEstimator()
    /** A count is answered about as fast as a stream's first token. */
    const timeoutMs = Duration.toMillis(config.upstream.firstTokenTimeout)

    const ask = Effect.fnUntraced(function* (
      client: CountClient,
      candidate: Candidate,
      target: CountDialect,
      dropped: ReadonlyArray<string>,
    ) {
      const { provider, model } = candidate
      const encoded = encodeCountRequest(client, target, model)
      if (Either.isLeft(encoded)) return yield* invalid(encoded.left)
      const key = yield* Effect.either(keyPool.pick(provider, [], model, false))
      if (Either.isLeft(key)) return { _tag: "Failed", reason: `no key (${key.left.reason})` } satisfies Asked as Asked
      const sent = yield* Effect.either(
        upstream.send({
          provider,
          key: key.right,
          model,
          url: countUrl(provider, target, encoded.right.path),
          method: "POST",
          body: JSON.stringify(encoded.right.body),
          headers: target === client.dialect ? client.featureHeaders : undefined,
          stream: false,
          headersTimeoutMs: timeoutMs,
        }),
      )
      if (Either.isLeft(sent)) {
        const verdict = classify(outcomeOf(sent.left), provider)
        return (verdict._tag === "Fatal" && verdict.status < 500
          ? { _tag: "Refused", failure: sent.left }
          : {
              _tag: "Failed",
              reason: sent.left._tag === "UpstreamStatusError" ? `HTTP ${sent.left.status}` : sent.left.reason,
            }) satisfies Asked as Asked
      }
      const answer = answerOf(client.dialect, target, sent.right.text)
      return answer._tag === "Counted" && dropped.length > 0 ? { ...answer, dropped } : answer
    })

    /** What converting the request for `target` loses; none within its own dialect. */
    const lossFor = (client: CountClient, target: CountDialect) => {
      if (target === client.dialect) return Either.right(NO_LOSS)
      return Either.map(client.canonical(), (canonical) => countLoss(client.dialect, client.body, canonical))
    }

    const count = Effect.fnUntraced(function* (request: TokenCountRequest) {
      const snapshot = yield* registry.current
      const modelLists = yield* catalog.listsFor(snapshot)
      const { plan } = yield* router.decide({
        snapshot,
        requestedModel: request.model,
        modelLists,
        allowedProviderIds: request.principal.allowedProviderIds,
        session: null,
      })
      const client: CountClient = {
        dialect: request.dialect,
        body: request.body as JsonObject,
        featureHeaders: request.featureHeaders,
        canonical: memoize(() => decodeCountRequest(request.dialect, request.body as JsonObject, request.model)),
      }
      let calls = 0
      for (const { candidate } of plan.attempts) {
        const target = countDialectOf(candidate.provider)
        if (target === undefined || calls >= MAX_PROVIDER_CALLS) continue
        const loss = lossFor(client, target)
        if (Either.isLeft(loss)) return yield* invalid(loss.left)
        // A count that leaves out what the request depends on is no count: a native candidate, or the estimate.
        if (loss.right.refused.length > 0) continue
        calls++
        const asked = yield* ask(client, candidate, target, loss.right.dropped)
        if (asked._tag === "Counted") {
          const served: Served = {
            provider: candidate.provider.id,
            model: candidate.model,
            attempts: calls,
            ...(asked.dropped ? { dropped: asked.dropped } : {}),
          }
          return { _tag: "Count", body: asked.body, source: "provider", served } satisfies TokenCountAnswer
        }
        if (asked._tag === "Refused") return yield* Effect.fail(asked.failure)
        yield* logRequestWarning(
          request.requestId,
          "token count failed upstream; trying the next candidate or an estimate",
          {
            provider: candidate.provider.id,
            model: candidate.model,
            reason: asked.reason,
          },
        )
      }
      return yield* estimated(client)
    })

    /** The gateway's estimate, naming what it could not read. */
    const estimated = Effect.fnUntraced(function* (client: CountClient) {
      const canonical = client.canonical()
      if (Either.isLeft(canonical)) return yield* invalid(canonical.left)
      const tokens = yield* estimate(promptText(canonical.right))
      const loss = countLoss(client.dialect, client.body, canonical.right)
      const body = JSON.stringify(countBody(client.dialect, tokens))
      const uncounted = [...loss.refused, ...loss.dropped]
      return {
        _tag: "Count",
        body,
        source: "estimate",
        served: undefined,
        ...(uncounted.length > 0 ? { uncounted } : {}),
      } satisfies TokenCountAnswer
    })

    return { count } as const
  }),
}) {}

interface CountClient {
  readonly dialect: CountDialect
  readonly body: JsonObject
  readonly featureHeaders: Readonly<Record<string, string>> | undefined
  readonly canonical: () => Either.Either<CanonicalRequest, ProtocolError>
}

/** A provider's 2xx count as the client's answer: byte-faithful in the same dialect, else re-shaped. */
const answerOf = (client: CountDialect, target: CountDialect, text: string): Asked => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { _tag: "Failed", reason: "the count answer is not JSON" }
  }
  const count = countOf(target, json)
  if (count === undefined) return { _tag: "Failed", reason: "the answer carries no token count" }
  return { _tag: "Counted", body: client === target ? text : JSON.stringify(countBody(client, count)) }
}
