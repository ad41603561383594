import { Effect, Either, ExecutionStrategy, Exit, Scope, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Principal } from "../identity/Principal.js"
import { ModelCatalog } from "../registry/ModelCatalog.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { type Candidate, filterAllowed, resolveCandidates } from "../routing/Candidates.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { AllUpstreamsFailed, InvalidRequest, UpstreamTransportError, type UpstreamFailure } from "./GatewayError.js"
import { type InboundApi, planExchange } from "./Exchange.js"
import { commitStream } from "./StreamCommit.js"

export interface GatewayRequest {
  readonly api: InboundApi
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
  readonly principal: Principal
  readonly sessionId?: string | undefined
}

/** Which upstream really served the answer, reported to the client in headers. */
export interface Served {
  readonly provider: string
  readonly model: string
  readonly attempts: number
}

export type GatewayAnswer =
  | { readonly _tag: "Json"; readonly body: string; readonly served: Served }
  | { readonly _tag: "Stream"; readonly body: Stream.Stream<Uint8Array>; readonly served: Served }

/** Whether another attempt could help after this failure (seed-spec §5.1, refined). */
const isRetryable = (candidate: Candidate, failure: UpstreamFailure): boolean => {
  if (failure._tag === "UpstreamTransportError") return true
  const list = candidate.provider.retryableStatus
  if (list !== null && list.length > 0) return list.includes(failure.status)
  // A bad provider key is the gateway's problem, not the client's: another key or provider may work.
  if (failure.status === 401 || failure.status === 403) return true
  return failure.status === 429 || failure.status === 408 || failure.status >= 500
}

/**
 * One request through the gateway: resolve the model, walk the candidates in order, and answer
 * from the first that succeeds. Before commit every failure may fail over; client errors of the
 * upstream (400, 404, 422 …) reach the client unchanged.
 */
export class Gateway extends Effect.Service<Gateway>()("gateway/gateway/Gateway", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const upstream = yield* UpstreamClient
    const timeouts = { firstToken: config.upstream.firstTokenTimeout, idle: config.upstream.idleTimeout }

    const attempt = (request: GatewayRequest, candidate: Candidate, attempts: number) =>
      Effect.gen(function* () {
        const exchange = planExchange({
          api: request.api,
          body: request.body,
          stream: request.stream,
          provider: candidate.provider,
          model: candidate.model,
        })
        if (exchange === undefined) {
          return yield* new UpstreamTransportError({
            provider: candidate.provider.id,
            model: candidate.model,
            reason: "connect",
            message: `provider '${candidate.provider.id}' cannot serve this API`,
          })
        }
        const key = candidate.provider.keys[0]
        if (key === undefined) {
          return yield* new UpstreamTransportError({
            provider: candidate.provider.id,
            model: candidate.model,
            reason: "connect",
            message: `provider '${candidate.provider.id}' has no usable key`,
          })
        }
        const response = yield* upstream.send({
          provider: candidate.provider,
          key,
          model: candidate.model,
          url: exchange.url,
          body: exchange.body,
          stream: request.stream,
        })
        const served: Served = { provider: candidate.provider.id, model: candidate.model, attempts }
        if (!request.stream) {
          const text = yield* response.text
          const translated = exchange.translateJson(text)
          if (Either.isLeft(translated)) {
            return yield* new UpstreamTransportError({
              provider: served.provider,
              model: served.model,
              reason: "malformed",
              message: translated.left,
            })
          }
          return { _tag: "Json", body: translated.right.body, served } satisfies GatewayAnswer as GatewayAnswer
        }
        const body = yield* commitStream(response.events, exchange.streamCodec(), timeouts, served, () => Effect.void)
        return { _tag: "Stream", body, served } satisfies GatewayAnswer as GatewayAnswer
      })

    const handle = Effect.fn("Gateway.handle")(function* (request: GatewayRequest) {
      if (request.model.trim() === "") {
        return yield* new InvalidRequest({ message: "you must provide a model parameter", param: "model" })
      }
      const snapshot = yield* registry.current
      const lists = yield* catalog.listsFor(snapshot)
      const resolved = resolveCandidates(snapshot, request.model, lists)
      if (Either.isLeft(resolved)) return yield* resolved.left
      const allowed = filterAllowed(resolved.right, request.principal.allowedProviderIds)
      if (Either.isLeft(allowed)) return yield* allowed.left
      const candidates = [...allowed.right.candidates].sort((a, b) => a.priority - b.priority)

      let last: UpstreamFailure | undefined
      let attempts = 0
      for (const candidate of candidates) {
        attempts++
        // Each attempt gets its own scope: a failed attempt's upstream call is aborted at once,
        // a successful one lives as long as the request.
        const requestScope = yield* Effect.scope
        const attemptScope = yield* Scope.fork(requestScope, ExecutionStrategy.sequential)
        const outcome = yield* attempt(request, candidate, attempts).pipe(Scope.extend(attemptScope), Effect.either)
        if (Either.isRight(outcome)) return outcome.right
        yield* Scope.close(attemptScope, Exit.void)
        last = outcome.left
        yield* Effect.logWarning("upstream attempt failed").pipe(
          Effect.annotateLogs({
            provider: candidate.provider.id,
            model: candidate.model,
            reason: last._tag === "UpstreamStatusError" ? `HTTP ${last.status}` : last.reason,
            message: last.message,
          }),
        )
        if (!isRetryable(candidate, last)) return yield* last
      }
      if (last?._tag === "UpstreamStatusError") return yield* last
      return yield* new AllUpstreamsFailed({
        model: request.model,
        attempts,
        lastError: last?.message ?? "no upstream could serve the request",
      })
    })

    return { handle } as const
  }),
}) {}
