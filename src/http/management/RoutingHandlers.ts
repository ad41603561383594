import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Clock, Duration, Effect, Either, Option } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { Principal } from "../../identity/Principal.js"
import { CurrentPrincipal } from "../../identity/Principal.js"
import type { ProviderKey } from "../../registry/Provider.js"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { upstreamKey } from "../../routing/Candidates.js"
import { CircuitBreaker, providerScope, upstreamScope } from "../../routing/CircuitBreaker.js"
import { effectivePreference, KeyPool, type KeyState } from "../../routing/KeyPool.js"
import { type CircuitView, describePlan, worseCircuit } from "../../routing/Plan.js"
import { Router } from "../../routing/Router.js"
import { RoutingMetrics } from "../../routing/RoutingMetrics.js"
import { effectiveMetrics, healthStatus, type ScoreBreakdown } from "../../routing/Scoring.js"
import { Stickiness, sessionOwner } from "../../routing/Stickiness.js"
import { Kv } from "../../storage/Kv.js"
import { ModelCatalog } from "../../upstream/ModelCatalog.js"
import { UpstreamClient } from "../../upstream/UpstreamClient.js"
import { joinUrl } from "../../upstream/UpstreamHeaders.js"
import { BadRequest, NotFound, ServiceUnavailable } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { ManagementApi } from "./ManagementApi.js"

/** Whose session binding: the given API key's or user's, else the caller's own. */
const ownerOf = (
  principal: Principal,
  params: { readonly api_key_id?: string | undefined; readonly user_id?: string | undefined },
) =>
  params.api_key_id !== undefined
    ? `key:${params.api_key_id}`
    : params.user_id !== undefined
      ? `user:${params.user_id}`
      : sessionOwner(principal)

const renderScore = (s: ScoreBreakdown) => ({
  score: s.score,
  base_weight: s.baseWeight,
  weight: s.weight,
  latency: s.latency,
  error: s.error,
  cost: s.cost,
  penalty: s.penalty,
  confidence: s.confidence,
  status: s.status,
})

const why = {
  sticky: "the conversation is bound to it (stickiness)",
  weighted_choice: "weighted random choice, by score, among the best available tier",
  score_order: "next by score",
  half_open_probe: "its circuit is half-open: the request would be the one probe",
  panic:
    "every candidate's circuit is open: the one whose cooldown ends first still gets the request, as its probe (panic mode)",
} as const

const lastOkKey = (providerId: string) => `health:last-ok:${providerId}`
/** The last probe's status (`GET /providers/{id}/health`), for a provider's metrics while it has no traffic. */
const lastProbeKey = (providerId: string) => `health:last-probe:${providerId}`

type ProviderStatus = "unknown" | "healthy" | "degraded" | "down"
const SEVERITY: { readonly [status in ProviderStatus]: number } = { unknown: 0, healthy: 1, degraded: 2, down: 3 }
const isProviderStatus = (text: string | undefined): text is ProviderStatus =>
  text !== undefined && Object.hasOwn(SEVERITY, text)

/** The worst of the models' health from their metrics; `unknown` when none has any evidence. */
const worstHealth = (statuses: Iterable<ProviderStatus>): ProviderStatus => {
  let worst: ProviderStatus = "unknown"
  for (const status of statuses) if (SEVERITY[status] > SEVERITY[worst]) worst = status
  return worst
}

const renderCircuit = (view: CircuitView | undefined) => ({
  status: view?.status ?? ("closed" as const),
  retry_after_ms: view?.retryAfterMs ?? null,
})

/** A key's back-off as the metrics show it: none once its backoff has passed. */
const renderKeyState = (key: ProviderKey, state: KeyState | undefined, now: number) => {
  const backingOff = state !== undefined && state.backoffUntil > now
  return {
    id: key.id,
    label: key.label,
    backoff: !backingOff
      ? ("none" as const)
      : state.providerSaid === true
        ? ("retry_after" as const)
        : ("backoff" as const),
    backoff_until: backingOff ? new Date(state.backoffUntil) : null,
    failures: state?.failCount ?? 0,
    preference: state === undefined ? 1 : effectivePreference(state, now),
  }
}

export const RoutingHandlers = HttpApiBuilder.group(ManagementApi, "routing", (handlers) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const router = yield* Router
    const stickiness = yield* Stickiness
    const metrics = yield* RoutingMetrics
    const breaker = yield* CircuitBreaker
    const keyPool = yield* KeyPool
    const upstream = yield* UpstreamClient
    const kv = yield* Kv

    const providerOf = (id: string) =>
      Effect.flatMap(registry.current, (snapshot) => {
        const provider = snapshot.providers.get(id)
        return provider === undefined
          ? Effect.fail(new NotFound({ message: `Provider '${id}' not found` }))
          : Effect.succeed({ provider, snapshot })
      })

    const decide = (payload: typeof import("./RoutingApi.js").DecideRequest.Type) =>
      Effect.gen(function* () {
        const principal = yield* CurrentPrincipal
        const started = performance.now()
        if (payload.bind && payload.conversation_id === undefined) {
          return yield* new BadRequest({ message: "bind: true needs a conversation_id" })
        }
        const snapshot = yield* registry.current
        const modelLists = yield* catalog.listsFor(snapshot)
        const excluded = new Set(payload.exclude_providers)
        const owner = ownerOf(principal, payload)
        const { resolution, plan } = yield* router
          .decide({
            snapshot,
            requestedModel: payload.logical_model,
            modelLists,
            allowedProviderIds:
              excluded.size === 0 ? null : [...snapshot.providers.keys()].filter((id) => !excluded.has(id)),
            session: payload.conversation_id === undefined ? null : { owner, id: payload.conversation_id },
          })
          .pipe(
            Effect.catchTags({
              ModelNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
              UnknownProvider: (e) => Effect.fail(new NotFound({ message: e.message })),
              LogicalModelDisabled: (e) =>
                Effect.fail(new ServiceUnavailable({ message: `Logical model '${e.logicalModel}' is disabled` })),
              NoUpstreams: (e) =>
                Effect.fail(
                  new ServiceUnavailable({
                    message: `No upstream of '${e.logicalModel}' belongs to an enabled provider`,
                  }),
                ),
              ProviderNotAllowed: (e) =>
                Effect.fail(
                  new ServiceUnavailable({
                    message: "Every candidate provider is excluded",
                    details: { candidate_provider_ids: e.candidateProviderIds },
                  }),
                ),
            }),
          )
        const view = describePlan(plan)
        const attempts = view.attempts.map((a) => ({ ...a, score: renderScore(a.score) }))
        const skipped = view.skipped.map(({ retryAfterMs, ...s }) => ({
          ...s,
          retry_after_ms: retryAfterMs,
          score: renderScore(s.score),
        }))
        const selected = attempts[0] ?? null
        let bound = false
        if (payload.bind && selected !== null) {
          const binding = yield* stickiness.bind(owner, payload.conversation_id, {
            logicalModel: resolution.logicalModel,
            provider: selected.provider,
            model: selected.model,
          })
          bound = Option.isSome(binding)
        }
        const reasoning =
          selected === null
            ? `No upstream of '${resolution.logicalModel}' can be tried now: every candidate's circuit is open` +
              (plan.retryAfterMs !== undefined ? ` (the first reopens in ${Math.ceil(plan.retryAfterMs)} ms)` : "")
            : `Selected provider '${selected.provider}' model '${selected.model}' for '${resolution.logicalModel}': ${why[selected.reason]}` +
              ` (score ${selected.score.score.toFixed(3)}; ${attempts.length} candidate(s) in the plan, ${skipped.length} skipped).`
        return {
          logical_model: payload.logical_model,
          resolved_as: resolution.logicalModel,
          source: resolution.source,
          strategy: view.strategy,
          selected_upstream: selected,
          reasoning,
          sticky: view.sticky,
          attempts,
          skipped,
          retry_after_ms: view.retryAfterMs,
          decision_time_ms: performance.now() - started,
          bound,
        }
      })

    /** One GET of the models path with a key of the pool, its outcome classified (reachable, key rejected, failing). */
    const probe = (id: string) =>
      Effect.gen(function* () {
        const { provider } = yield* providerOf(id)
        const now = yield* Clock.currentTimeMillis
        const key = yield* keyPool.pick(provider).pipe(Effect.either)
        const result = Either.isLeft(key)
          ? { status: "down" as const, ms: 0, httpStatus: null, error: `no usable key (${key.left.reason})` }
          : yield* Effect.gen(function* () {
              const started = performance.now()
              const outcome = yield* upstream
                .send({
                  provider,
                  key: key.right,
                  model: "",
                  url: joinUrl(provider.baseUrl, provider.paths.models),
                  method: "GET",
                  stream: false,
                  masked: false,
                })
                .pipe(
                  Effect.map((response) => response.status),
                  Effect.timeoutFail({
                    duration: config.upstream.discoveryTimeout,
                    onTimeout: () => ({
                      _tag: "Timeout" as const,
                      message: `no answer within ${Duration.format(config.upstream.discoveryTimeout)}`,
                    }),
                  }),
                  Effect.either,
                )
              const ms = Math.round(performance.now() - started)
              if (Either.isRight(outcome)) {
                yield* keyPool.recordSuccess(provider.id, key.right.id)
                return { status: "healthy" as const, ms, httpStatus: outcome.right, error: null }
              }
              const failure = outcome.left
              if (failure._tag === "UpstreamStatusError") {
                if (failure.status === 401 || failure.status === 403)
                  yield* keyPool.recordFailure(provider.id, key.right.id, "auth")
                return {
                  status: failure.status >= 500 ? ("down" as const) : ("degraded" as const),
                  ms,
                  httpStatus: failure.status,
                  error: failure.message,
                }
              }
              return { status: "down" as const, ms, httpStatus: null, error: failure.message }
            })
        if (result.status === "healthy") {
          yield* kv.set(lastOkKey(provider.id), String(now), Duration.days(30)).pipe(Effect.ignore)
        }
        yield* kv.set(lastProbeKey(provider.id), result.status, Duration.days(30)).pipe(Effect.ignore)
        const lastOk = yield* kv.get(lastOkKey(provider.id)).pipe(Effect.orElseSucceed(() => undefined))
        return {
          provider_id: provider.id,
          status: result.status,
          timestamp: new Date(now),
          response_time_ms: result.ms,
          http_status: result.httpStatus,
          error_message: result.error,
          last_successful_check: lastOk === undefined ? null : new Date(Number(lastOk)),
        }
      })

    return handlers
      .handle("decide", ({ payload }) => managed(decide(payload)))
      .handle("getSession", ({ path, urlParams }) =>
        managed(
          Effect.gen(function* () {
            const owner = ownerOf(yield* CurrentPrincipal, urlParams)
            const binding = yield* stickiness.get(owner, path.conversation_id)
            if (Option.isNone(binding)) {
              return yield* new NotFound({ message: `No session '${path.conversation_id}' for ${owner}` })
            }
            const b = binding.value
            return {
              conversation_id: path.conversation_id,
              owner,
              logical_model: b.logicalModel,
              provider: b.provider,
              model: b.model,
              created_at: new Date(b.createdAt),
              last_accessed: new Date(b.lastAccessed),
            }
          }),
        ),
      )
      .handle("deleteSession", ({ path, urlParams }) =>
        managed(
          Effect.gen(function* () {
            const owner = ownerOf(yield* CurrentPrincipal, urlParams)
            if (!(yield* stickiness.remove(owner, path.conversation_id))) {
              return yield* new NotFound({ message: `No session '${path.conversation_id}' for ${owner}` })
            }
          }),
        ),
      )
      .handle("providerMetrics", ({ path, urlParams }) =>
        managed(
          Effect.gen(function* () {
            const { provider, snapshot } = yield* providerOf(path.id)
            const lists = yield* catalog.listsFor(snapshot)
            const listed = lists(provider.id)
            const models = new Set<string>()
            if (urlParams.model !== undefined) models.add(urlParams.model)
            else {
              for (const m of provider.models ?? []) models.add(m)
              for (const m of Object.values(provider.aliases)) models.add(m)
              for (const logical of snapshot.logicalModels.values()) {
                for (const u of logical.upstreams) if (u.provider === provider.id) models.add(u.model)
              }
              for (const m of listed ?? []) models.add(m)
            }
            const ordered = [...models].sort()
            const stats = yield* metrics.getMany(ordered.map((model) => ({ provider: provider.id, model })))
            // The worst of the provider's connection circuit and its models' circuits.
            const scopes = [providerScope(provider.id), ...ordered.map((model) => upstreamScope(provider.id, model))]
            const views = yield* breaker.views(scopes)
            const circuit = scopes.reduce<CircuitView | undefined>(
              (worst, scope) => worseCircuit(worst, views.get(scope)),
              undefined,
            )
            // Health from what traffic taught (never "healthy" by default), else from the last probe.
            const now = yield* Clock.currentTimeMillis
            const fromTraffic = worstHealth(
              [...stats.values()].map((m) => {
                const health = healthStatus(effectiveMetrics(m, now))
                return health === "half_open" || health === "open" ? "down" : health
              }),
            )
            const probed =
              fromTraffic === "unknown"
                ? yield* kv.get(lastProbeKey(provider.id)).pipe(Effect.orElseSucceed(() => undefined))
                : undefined
            const keyStates = yield* keyPool.states(provider)
            const lastDiscovery = yield* catalog.lastDiscovery(provider.id)
            return {
              provider_id: provider.id,
              status: fromTraffic === "unknown" && isProviderStatus(probed) ? probed : fromTraffic,
              circuit: renderCircuit(circuit),
              connection_circuit: renderCircuit(views.get(providerScope(provider.id))),
              upstreams: ordered.map((model) => ({
                model,
                circuit: renderCircuit(views.get(upstreamScope(provider.id, model))),
              })),
              keys: provider.keys.map((key) => renderKeyState(key, keyStates.get(key.id), now)),
              discovery: {
                source: provider.models === null ? ("discovered" as const) : ("static" as const),
                models: listed ?? null,
                last: Option.match(lastDiscovery, {
                  onNone: () => null,
                  onSome: (last) => ({ at: new Date(last.at), models: last.models, error: last.error }),
                }),
              },
              metrics: ordered.flatMap((model) => {
                const m = stats.get(upstreamKey(provider.id, model))
                return m === undefined
                  ? []
                  : [
                      {
                        model,
                        samples: m.samples,
                        latency_ewma_ms: m.latencyEwmaMs,
                        error_ewma: m.errorEwma,
                        weight_factor: m.weightFactor,
                        updated_at: new Date(m.updatedAt),
                      },
                    ]
              }),
            }
          }),
        ),
      )
      .handle("providerHealth", ({ path }) => managed(probe(path.id)))
  }),
)
