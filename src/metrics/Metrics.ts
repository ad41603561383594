/**
 * Prometheus metrics (docs/ARCHITECTURE.md, "Metrics"; README "Metrics"): one prom-client
 * `Registry` per service instance — never the global default one, so several gateways in one
 * process keep their own counts — fed by the places that already know the facts:
 *
 *   the HTTP edge      requestStarted · streamStarted · observeRequest (status, duration, first token)
 *   the attempt        observeAttempt (outcome per provider) · keyBackedOff
 *   usage recording    observeUsage · addCost (tokens and cost per upstream answer)
 *   mid-stream rescue  observeRescue
 *
 * and read on scrape where the state lives elsewhere: circuit states (CircuitBreaker, in Kv), the
 * request log's buffered, written and dropped rows (RequestLogWriter.stats), the Kv fallback's
 * outages, in-flight counts, process and event-loop metrics (prom-client's default collectors).
 *
 * Every method is a plain synchronous function (no Effect per request): a label tuple's
 * prom-client children are made once and kept in a Map keyed by the tuple, and label values from
 * client input are bounded first (MetricLabels). With METRICS=off every method does nothing.
 */
import { Effect, Metric, Runtime } from "effect"
import * as Prom from "prom-client"
import { AppConfig } from "../config/AppConfig.js"
import type { RegistrySnapshot } from "../registry/Provider.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { CircuitBreaker, providerScope, upstreamScope } from "../routing/CircuitBreaker.js"
import type { UpstreamFailure } from "../shared/UpstreamFailure.js"
import { primaryDown, primaryOutages } from "../storage/KvFallback.js"
import { budgetRefusals, softBudgetOverruns } from "../usage/Budgets.js"
import { type RequestLogStats, RequestLogWriter } from "../usage/RequestLogWriter.js"
import {
  attemptOutcomeLabel,
  capLength,
  errorTypeOf,
  genAiSystemOf,
  makeModelLabels,
  NONE,
  OTHER,
  providerLabel,
} from "./MetricLabels.js"

export type MetricsMode = "open" | "master" | "off"

/** One client request on a generation route, as the HTTP edge saw it when its response closed. */
export interface RequestObservation {
  /** The route, as a fixed template (`/v1/chat/completions`, `/v1beta/models/{model}:generateContent` …). */
  readonly endpoint: string
  /** The client's dialect (route family). */
  readonly dialect: string
  /** `gen_ai.operation.name`, once the body was read; undefined for a request refused before. */
  readonly operation: string | undefined
  /** The model the client asked for (unbounded client input: labelled through MetricLabels). */
  readonly model: string | undefined
  /** The provider and model that served it, when one did. */
  readonly provider: string | undefined
  readonly servedModel: string | undefined
  /** The status sent (499 when the client left before an answer). */
  readonly status: number
  readonly durationMs: number
  /** Until the first content reached the client (a committed stream only). */
  readonly firstTokenMs: number | undefined
  /** `streamStarted` was called for it. */
  readonly streamed: boolean
}

/** Tokens an upstream reported for one answer (the protocol's `UsageDelta`). */
export interface TokenUsage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

export interface UsageObservation {
  readonly operation: string
  /** The model the client asked for. */
  readonly requestedModel: string
  /** The upstream that answered. */
  readonly provider: string
  readonly model: string
  readonly usage: TokenUsage
}

export interface AttemptObservation {
  readonly provider: string
  readonly model: string
  /** Undefined for a success. */
  readonly failure: UpstreamFailure | undefined
}

export interface CostObservation {
  readonly provider: string
  readonly model: string
  /** US dollars; negative, zero and non-finite amounts are ignored. */
  readonly usd: number
}

/** A stream that broke after commit: continued elsewhere, no continuation found, or not continuable (a tool call half sent …). */
export type RescueOutcome = "rescued" | "failed" | "not_possible"

/** Why a provider key was backed off (routing/RetryPolicy's KeyFailureKind). */
export type KeyBackoffKind = "auth" | "retryable" | "fatal"

export interface MetricsService {
  readonly mode: MetricsMode
  /** A generation request arrived (in-flight requests + 1 until its `observeRequest`). */
  readonly requestStarted: () => void
  /** Its answer started streaming to the client (in-flight streams + 1 until its `observeRequest`). */
  readonly streamStarted: () => void
  readonly observeRequest: (request: RequestObservation) => void
  readonly observeAttempt: (attempt: AttemptObservation) => void
  readonly observeUsage: (usage: UsageObservation) => void
  readonly keyBackedOff: (provider: string, kind: KeyBackoffKind) => void
  readonly observeRescue: (outcome: RescueOutcome) => void
  /** Cost of one upstream answer, in USD (UsageRecording, from Pricing). */
  readonly addCost: (cost: CostObservation) => void
  /** The exposition (Prometheus text format). */
  readonly scrape: () => Promise<string>
  readonly contentType: string
}

/** Models learned from answers beyond the registry's (MetricLabels.makeModelLabels). */
const MAX_LEARNED_MODELS = 500
/** Upstreams (provider, model) whose circuit is reported besides the registry's, learned from attempts. */
const MAX_LEARNED_UPSTREAMS = 500

/** OpenTelemetry GenAI semantic conventions' advised buckets. */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
const FIRST_TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

const CIRCUIT_VALUE = { closed: 0, half_open: 1, open: 2 } as const

/** The value of `key` in `cache`, made by `make` the first time. */
const cached = <V>(cache: Map<string, V>, key: string, make: () => V): V => {
  let value = cache.get(key)
  if (value === undefined) cache.set(key, (value = make()))
  return value
}

const SEP = "\u0001"

/** Maps keyed by one label value each, the last level holding the children. */
type Branches<V> = Map<string, V>

/** The map under `key`, made empty the first time. */
const branch = <V>(map: Branches<Map<string, V>>, key: string): Map<string, V> => {
  let inner = map.get(key)
  if (inner === undefined) map.set(key, (inner = new Map()))
  return inner
}

const disabled: MetricsService = {
  mode: "off",
  requestStarted: () => {},
  streamStarted: () => {},
  observeRequest: () => {},
  observeAttempt: () => {},
  observeUsage: () => {},
  keyBackedOff: () => {},
  observeRescue: () => {},
  addCost: () => {},
  scrape: () => Promise.resolve(""),
  contentType: Prom.prometheusContentType,
}

type Counter = Prom.Counter.Internal
type Histogram = Prom.Histogram.Internal<string>

/** The children of one request label tuple: made on first use. */
interface RequestSeries {
  readonly byStatus: Map<number, Counter>
  readonly genAiByStatus: Map<number, Histogram>
  duration: Histogram | undefined
  firstToken: Histogram | undefined
  genAiFirstToken: Histogram | undefined
  readonly labels: {
    readonly endpoint: string
    readonly dialect: string
    readonly operation: string | undefined
    readonly model: string
    readonly provider: string
    readonly servedModel: string
    readonly system: string
  }
}

interface UsageSeries {
  readonly input: Histogram
  readonly output: Histogram
  readonly inputTotal: Counter
  readonly outputTotal: Counter
  readonly cachedTotal: Counter
  readonly reasoningTotal: Counter
}

/** What the metrics read from elsewhere: the registry's snapshot, circuit states, the shared store's state. */
export interface MetricSources {
  readonly snapshot: () => RegistrySnapshot
  readonly circuits: (
    scopes: ReadonlyArray<string>,
  ) => Promise<ReadonlyMap<string, { readonly status: keyof typeof CIRCUIT_VALUE }>>
  /** The Kv fallback's outages so far and whether the shared store is down now (1) or not (0). */
  readonly kv: () => { readonly outages: number; readonly down: number }
  /** The request log writer's rows: waiting in memory, written, dropped (all 0 with REQUEST_LOG=off). */
  readonly requestLog: () => RequestLogStats
  /** Requests refused over a budget, and served over a soft one, so far. */
  readonly budgets: () => { readonly refusals: number; readonly softOverruns: number }
}

/** The counting metrics over their sources (exported for tests; the service below builds it). */
export const makeLiveMetrics = (mode: Exclude<MetricsMode, "off">, sources: MetricSources): MetricsService => {
  const snapshotOf = sources.snapshot
  const registry = new Prom.Registry()
  Prom.collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const models = makeModelLabels(snapshotOf, MAX_LEARNED_MODELS)
  let inFlightRequests = 0
  let inFlightStreams = 0
  /** Upstreams learned from attempts (provider → models), whose circuits the scrape reports besides the registry's. */
  const attemptedUpstreams: Branches<Set<string>> = new Map()
  let attemptedCount = 0

  const counter = (name: string, help: string, labelNames: ReadonlyArray<string>) =>
    new Prom.Counter({ name, help, labelNames, registers })
  const histogram = (name: string, help: string, labelNames: ReadonlyArray<string>, buckets: Array<number>) =>
    new Prom.Histogram({ name, help, labelNames, buckets, registers })
  /** A counter whose total is read from `read` on scrape. */
  const countedElsewhere = (name: string, help: string, read: () => number) =>
    new Prom.Counter({
      name,
      help,
      registers,
      collect() {
        this.reset()
        this.inc(read())
      },
    })
  /** A gauge whose value is read from `read` on scrape. */
  const readElsewhere = (name: string, help: string, read: () => number) =>
    new Prom.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read())
      },
    })

  // --- OpenTelemetry GenAI semantic conventions (gen_ai.* → gen_ai_*, seconds) -----------------
  const genAi = ["gen_ai_operation_name", "gen_ai_system", "gen_ai_request_model", "gen_ai_response_model"]
  const genAiDuration = histogram(
    "gen_ai_client_operation_duration_seconds",
    "GenAI operation duration: a client request from arrival to its last byte (whole stream), by requested and serving model; error_type is the HTTP status of a failed request.",
    [...genAi, "error_type"],
    DURATION_BUCKETS,
  )
  const genAiTokens = histogram(
    "gen_ai_client_token_usage",
    "Tokens per upstream answer, as the provider reported them (gen_ai_token_type input or output).",
    [...genAi, "gen_ai_token_type"],
    TOKEN_BUCKETS,
  )
  const genAiFirstToken = histogram(
    "gen_ai_server_time_to_first_token_seconds",
    "Time from a streamed request's arrival until its first content reached the client.",
    genAi,
    FIRST_TOKEN_BUCKETS,
  )

  // --- apiproxy_* ---------------------------------------------------------------------------
  const requests = counter(
    "apiproxy_requests_total",
    "Generation requests answered, by endpoint, client dialect, requested model, serving provider and HTTP status (499: the client left first).",
    ["endpoint", "dialect", "model", "provider", "status"],
  )
  const duration = histogram(
    "apiproxy_request_duration_seconds",
    "Generation request latency, from arrival to the last byte of the answer (a stream's end), by endpoint, requested model and serving provider.",
    ["endpoint", "model", "provider"],
    DURATION_BUCKETS,
  )
  const firstToken = histogram(
    "apiproxy_time_to_first_token_seconds",
    "Streamed requests: time from arrival until the first content reached the client, by endpoint, requested model and serving provider.",
    ["endpoint", "model", "provider"],
    FIRST_TOKEN_BUCKETS,
  )
  const tokens = counter(
    "apiproxy_tokens_total",
    "Tokens the upstreams reported, by provider, upstream model and type (input, output; cached_input and reasoning are parts of input and output).",
    ["provider", "model", "type"],
  )
  const cost = counter(
    "apiproxy_cost_usd_total",
    "Cost of the upstreams' answers in US dollars, by provider and upstream model.",
    ["provider", "model"],
  )
  const attempts = counter(
    "apiproxy_upstream_attempts_total",
    "Upstream calls, by provider and outcome (success, rate_limited, auth_error, client_error, server_error, http_error, connect_error, timeout, reset, malformed).",
    ["provider", "outcome"],
  )
  const keyBackoffs = counter(
    "apiproxy_key_backoffs_total",
    "Provider keys backed off after a failure that was the key's (auth: rejected; retryable: rate limit or Retry-After; fatal), by provider.",
    ["provider", "kind"],
  )
  const rescues = counter(
    "apiproxy_stream_rescues_total",
    "Streams that broke after commit, by what mid-stream rescue did: rescued (continued elsewhere), failed (no continuation), not_possible.",
    ["outcome"],
  )
  readElsewhere(
    "apiproxy_requests_in_flight",
    "Generation requests being served now (streams included).",
    () => inFlightRequests,
  )
  readElsewhere("apiproxy_streams_in_flight", "Answers being streamed to clients now.", () => inFlightStreams)

  new Prom.Gauge({
    name: "apiproxy_circuit_state",
    help: "Circuit breaker per provider connection (scope=provider) and per upstream model (scope=upstream): 0 closed, 1 half-open (a probe may go), 2 open. Read from the shared store on scrape.",
    labelNames: ["scope", "provider", "model"],
    registers,
    async collect() {
      const snapshot = snapshotOf()
      const upstreams = new Map<string, { readonly provider: string; readonly model: string }>()
      const add = (provider: string, model: string) => {
        const key = provider + SEP + model
        if (!upstreams.has(key) && snapshot.providers.get(provider)?.enabled === true)
          upstreams.set(key, { provider, model })
      }
      for (const logical of snapshot.logicalModels.values()) for (const u of logical.upstreams) add(u.provider, u.model)
      for (const provider of snapshot.providers.values())
        for (const model of provider.models ?? []) add(provider.id, model)
      for (const [provider, tried] of attemptedUpstreams) for (const model of tried) add(provider, model)
      const providers = [...snapshot.providers.values()].filter((p) => p.enabled).map((p) => p.id)
      const scopes = [
        ...providers.map(providerScope),
        ...[...upstreams.values()].map((u) => upstreamScope(u.provider, u.model)),
      ]
      const views = await sources.circuits(scopes)
      this.reset()
      for (const provider of providers) {
        this.set(
          { scope: "provider", provider: capLength(provider), model: "" },
          CIRCUIT_VALUE[views.get(providerScope(provider))?.status ?? "closed"],
        )
      }
      for (const u of upstreams.values()) {
        this.set(
          { scope: "upstream", provider: capLength(u.provider), model: capLength(u.model) },
          CIRCUIT_VALUE[views.get(upstreamScope(u.provider, u.model))?.status ?? "closed"],
        )
      }
    },
  })

  countedElsewhere(
    "apiproxy_kv_primary_outages_total",
    "Times the shared KV store (Redis) became unreachable and routing state, limits and sessions went per instance (storage/KvFallback).",
    () => sources.kv().outages,
  )
  readElsewhere(
    "apiproxy_kv_primary_down",
    "1 while the shared KV store (Redis) is unreachable and state is per instance, else 0.",
    () => sources.kv().down,
  )

  countedElsewhere(
    "apiproxy_request_log_dropped_total",
    "Request-log rows dropped instead of written: the buffer was full while the database was slow or away, or the database refused the row.",
    () => sources.requestLog().dropped,
  )
  countedElsewhere(
    "apiproxy_request_log_written_total",
    "Request-log rows written to the database.",
    () => sources.requestLog().written,
  )
  readElsewhere(
    "apiproxy_request_log_buffered_rows",
    "Request-log rows waiting in memory to be written.",
    () => sources.requestLog().buffered,
  )
  countedElsewhere(
    "apiproxy_request_log_bodies_dropped_total",
    "Request-log rows kept without their bodies (marked truncated) because the bodies held in memory reached their cap.",
    () => sources.requestLog().bodiesDropped,
  )
  countedElsewhere(
    "apiproxy_budget_refusals_total",
    "Requests refused with 429 budget_exceeded before any upstream was called.",
    () => sources.budgets().refusals,
  )
  countedElsewhere(
    "apiproxy_budget_soft_limit_exceeded_total",
    "Requests served although a soft budget of their API key or user was used up.",
    () => sources.budgets().softOverruns,
  )

  // Label tuple → its children, as nested Maps (no key string built per request). The dialect is
  // the endpoint's, so it is no level of its own.
  const requestSeries: Branches<Branches<Branches<Branches<Map<string, RequestSeries>>>>> = new Map()
  const usageSeries: Branches<Branches<Branches<Map<string, UsageSeries>>>> = new Map()
  const attemptChildren: Branches<Map<string, Counter>> = new Map()
  const costChildren: Branches<Map<string, Counter>> = new Map()
  const backoffChildren = new Map<string, Counter>()
  const rescueChildren = new Map<string, Counter>()

  const systemOf = (snapshot: RegistrySnapshot, provider: string | undefined) =>
    genAiSystemOf(provider === undefined ? undefined : snapshot.providers.get(provider)?.protocol)

  /** A model's label; a name an upstream answered for is learned first (MetricLabels.makeModelLabels). */
  const modelLabel = (model: string | undefined, answered: boolean): string => {
    const label = models.label(model)
    if (label !== OTHER || !answered) return label
    models.learn(model!)
    return models.label(model)
  }

  const seriesOf = (request: RequestObservation): RequestSeries => {
    const snapshot = snapshotOf()
    const answered = request.status < 400 && request.provider !== undefined
    const model = modelLabel(request.model, answered)
    const provider = providerLabel(snapshot, request.provider)
    const servedModel = request.servedModel === undefined ? NONE : modelLabel(request.servedModel, answered)
    const byServed = branch(
      branch(branch(branch(requestSeries, request.endpoint), request.operation ?? ""), model),
      provider,
    )
    let series = byServed.get(servedModel)
    if (series === undefined) {
      const labels = {
        endpoint: request.endpoint,
        dialect: request.dialect,
        operation: request.operation,
        model,
        provider,
        servedModel,
        system: systemOf(snapshot, request.provider),
      }
      series = {
        byStatus: new Map(),
        genAiByStatus: new Map(),
        duration: undefined,
        firstToken: undefined,
        genAiFirstToken: undefined,
        labels,
      }
      byServed.set(servedModel, series)
    }
    return series
  }

  const observeRequest = (request: RequestObservation) => {
    inFlightRequests--
    if (request.streamed) inFlightStreams--
    const series = seriesOf(request)
    const { labels } = series
    const status = request.status
    let counter = series.byStatus.get(status)
    if (counter === undefined) {
      counter = requests.labels(labels.endpoint, labels.dialect, labels.model, labels.provider, String(status))
      series.byStatus.set(status, counter)
    }
    counter.inc()
    const seconds = request.durationMs / 1000
    ;(series.duration ??= duration.labels(labels.endpoint, labels.model, labels.provider)).observe(seconds)
    const firstTokenSeconds = request.firstTokenMs === undefined ? undefined : request.firstTokenMs / 1000
    if (firstTokenSeconds !== undefined) {
      ;(series.firstToken ??= firstToken.labels(labels.endpoint, labels.model, labels.provider)).observe(
        firstTokenSeconds,
      )
    }
    if (labels.operation === undefined) return
    let genAiChild = series.genAiByStatus.get(status)
    if (genAiChild === undefined) {
      genAiChild = genAiDuration.labels(
        labels.operation,
        labels.system,
        labels.model,
        labels.servedModel,
        errorTypeOf(status),
      )
      series.genAiByStatus.set(status, genAiChild)
    }
    genAiChild.observe(seconds)
    if (firstTokenSeconds !== undefined) {
      ;(series.genAiFirstToken ??= genAiFirstToken.labels(
        labels.operation,
        labels.system,
        labels.model,
        labels.servedModel,
      )).observe(firstTokenSeconds)
    }
  }

  const observeUsage = (observed: UsageObservation) => {
    const snapshot = snapshotOf()
    // An upstream answered: the names resolved, so they may be labelled as themselves.
    const requested = modelLabel(observed.requestedModel, true)
    const model = modelLabel(observed.model, true)
    const provider = providerLabel(snapshot, observed.provider)
    const byModel = branch(branch(branch(usageSeries, observed.operation), requested), provider)
    let series = byModel.get(model)
    if (series === undefined) {
      const system = systemOf(snapshot, observed.provider)
      series = {
        input: genAiTokens.labels(observed.operation, system, requested, model, "input"),
        output: genAiTokens.labels(observed.operation, system, requested, model, "output"),
        inputTotal: tokens.labels(provider, model, "input"),
        outputTotal: tokens.labels(provider, model, "output"),
        cachedTotal: tokens.labels(provider, model, "cached_input"),
        reasoningTotal: tokens.labels(provider, model, "reasoning"),
      }
      byModel.set(model, series)
    }
    const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = observed.usage
    if (isCount(inputTokens)) {
      series.input.observe(inputTokens)
      series.inputTotal.inc(inputTokens)
    }
    if (isCount(outputTokens)) {
      series.output.observe(outputTokens)
      series.outputTotal.inc(outputTokens)
    }
    if (isCount(cachedInputTokens) && cachedInputTokens > 0) series.cachedTotal.inc(cachedInputTokens)
    if (isCount(reasoningTokens) && reasoningTokens > 0) series.reasoningTotal.inc(reasoningTokens)
  }

  const observeAttempt = (attempt: AttemptObservation) => {
    const outcome = attemptOutcomeLabel(attempt.failure)
    const provider = providerLabel(snapshotOf(), attempt.provider)
    const byOutcome = branch(attemptChildren, provider)
    let counter = byOutcome.get(outcome)
    if (counter === undefined) byOutcome.set(outcome, (counter = attempts.labels(provider, outcome)))
    counter.inc()
    if (attemptedCount < MAX_LEARNED_UPSTREAMS) {
      let tried = attemptedUpstreams.get(attempt.provider)
      if (tried === undefined) attemptedUpstreams.set(attempt.provider, (tried = new Set()))
      if (!tried.has(attempt.model)) {
        tried.add(attempt.model)
        attemptedCount++
      }
    }
  }

  const addCost = (observed: CostObservation) => {
    if (!Number.isFinite(observed.usd) || observed.usd <= 0) return
    const provider = providerLabel(snapshotOf(), observed.provider)
    const model = modelLabel(observed.model, true)
    const byModel = branch(costChildren, provider)
    let counter = byModel.get(model)
    if (counter === undefined) byModel.set(model, (counter = cost.labels(provider, model)))
    counter.inc(observed.usd)
  }

  return {
    mode,
    requestStarted: () => {
      inFlightRequests++
    },
    streamStarted: () => {
      inFlightStreams++
    },
    observeRequest,
    observeAttempt,
    observeUsage,
    keyBackedOff: (providerId, kind) => {
      const provider = providerLabel(snapshotOf(), providerId)
      cached(backoffChildren, provider + SEP + kind, () => keyBackoffs.labels(provider, kind)).inc()
    },
    observeRescue: (outcome) => cached(rescueChildren, outcome, () => rescues.labels(outcome)).inc(),
    addCost,
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  }
}

const isCount = (n: number | undefined): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0

/**
 * The metrics of this gateway instance (see the module comment). Built over the registry (model
 * and provider labels, `gen_ai_system`) and the circuit breaker (circuit states, read on scrape).
 */
export class Metrics extends Effect.Service<Metrics>()("gateway/metrics/Metrics", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    if (config.metrics === "off") return disabled
    const registry = yield* ProviderRegistry
    const breaker = yield* CircuitBreaker
    const requestLog = yield* RequestLogWriter
    const runPromise = Runtime.runPromise(yield* Effect.runtime<never>())
    return makeLiveMetrics(config.metrics, {
      snapshot: registry.unsafeCurrent,
      // The breaker fails open on store trouble; a defect still must not fail the whole scrape.
      circuits: (scopes) => runPromise(breaker.views(scopes)).catch(() => new Map()),
      // Effect metrics of the process (one gateway per process in production), here and below.
      kv: () => ({
        outages: Effect.runSync(Metric.value(primaryOutages)).count,
        down: Effect.runSync(Metric.value(primaryDown)).value,
      }),
      requestLog: requestLog.stats,
      budgets: () => ({
        refusals: Effect.runSync(Metric.value(budgetRefusals)).count,
        softOverruns: Effect.runSync(Metric.value(softBudgetOverruns)).count,
      }),
    })
  }),
}) {}
