/**
 * Runtime metrics per upstream (provider, model), recorded on every attempt and shared across
 * instances through Kv, so every instance scores on the same evidence. Scoring reads them in bulk.
 *
 * Each record is an EWMA of latency and of the penalisable-failure indicator, a saturating
 * sample count, and the bounded dynamic weight factor (nudged up on success and down on
 * failure, as a multiplier of the configured weight). Old evidence fades at read time
 * (Scoring.effectiveMetrics) and at write time (the sample count decays, so the first new
 * sample after a quiet period counts fully).
 *
 * Updates are read-modify-write without a lock: two instances recording the same upstream in
 * the same instant may lose one sample. That is noise for an EWMA, and the price of O(1)
 * commands on a plain KV.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { Kv, type KvError } from "../storage/Kv.js"
import { kvRecord } from "../storage/KvRecord.js"
import { upstreamKey } from "./Candidates.js"
import { decayFactor, defaultScoringConfig, type ScoringConfig, UpstreamMetrics } from "./Scoring.js"

/** How an attempt ended, for metrics. `neutral`: the client's fault, recorded nowhere. */
export type AttemptResult =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly severity: "retryable" | "fatal" }
  | { readonly _tag: "Neutral" }

export interface AttemptSample {
  readonly provider: string
  readonly model: string
  /** Latency to the first byte (streams) or to the full response; omit when meaningless (connect refused). */
  readonly latencyMs?: number | undefined
  readonly result: AttemptResult
}

export interface MetricsConfig {
  /** Smoothing of the EWMAs once enough samples exist. */
  readonly alpha: number
  readonly maxSamples: number
  readonly successDelta: number
  readonly retryableDelta: number
  readonly fatalDelta: number
  /** Kv TTL of a record: an upstream unused this long starts from scratch. */
  readonly ttl: Duration.Duration
}

export const defaultMetricsConfig: MetricsConfig = {
  alpha: 0.2,
  maxSamples: 1000,
  successDelta: 0.05,
  retryableDelta: -0.2,
  fatalDelta: -0.5,
  ttl: Duration.hours(24),
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** The record after one attempt. Neutral outcomes leave it untouched. */
export const updateMetrics = (
  prev: UpstreamMetrics | undefined,
  sample: Pick<AttemptSample, "latencyMs" | "result">,
  now: number,
  config: MetricsConfig = defaultMetricsConfig,
  scoring: ScoringConfig = defaultScoringConfig,
): UpstreamMetrics | undefined => {
  if (sample.result._tag === "Neutral") return prev
  const decay = prev === undefined ? 0 : decayFactor(now - prev.updatedAt, scoring.halfLifeMs)
  const samples = (prev?.samples ?? 0) * decay
  const n = Math.min(config.maxSamples, samples + 1)
  // Until the window fills, weigh samples equally (a plain mean); then a fixed alpha.
  const a = Math.max(config.alpha, 1 / n)
  const failed = sample.result._tag === "Failure" ? 1 : 0
  const latency = sample.latencyMs !== undefined && sample.latencyMs >= 0 ? sample.latencyMs : undefined
  const prevFactor = 1 + ((prev?.weightFactor ?? 1) - 1) * decay
  const delta =
    sample.result._tag === "Success"
      ? config.successDelta
      : sample.result.severity === "retryable"
        ? config.retryableDelta
        : config.fatalDelta
  return {
    latencyEwmaMs:
      latency === undefined
        ? (prev?.latencyEwmaMs ?? 0)
        : prev === undefined || prev.latencyEwmaMs <= 0
          ? latency
          : (1 - a) * prev.latencyEwmaMs + a * latency,
    errorEwma: prev === undefined ? failed : (1 - a) * prev.errorEwma + a * failed,
    samples: n,
    updatedAt: now,
    weightFactor: clamp(prevFactor + delta, scoring.minWeightFactor, scoring.maxWeightFactor),
  }
}

const { decode, encode } = kvRecord(UpstreamMetrics, { cached: true })

const metricsKey = (provider: string, model: string) => `routing:metrics:${provider}:${model}`

const warn = (operation: string) => (e: KvError) =>
  Effect.logWarning("routing metrics store unavailable").pipe(Effect.annotateLogs({ operation, error: e.message }))

type UpstreamRef = { readonly provider: string; readonly model: string }

/** The Kv keys `metricsFrom` reads, in the order of `upstreams`. */
export const metricsKeys = (upstreams: ReadonlyArray<UpstreamRef>): Array<string> =>
  upstreams.map((u) => metricsKey(u.provider, u.model))

/** The metrics of `upstreams` from what Kv holds at `metricsKeys(upstreams)`, keyed by `upstreamKey`. */
export const metricsFrom = (
  upstreams: ReadonlyArray<UpstreamRef>,
  raw: ReadonlyArray<string | undefined>,
): ReadonlyMap<string, UpstreamMetrics> => {
  const result = new Map<string, UpstreamMetrics>()
  upstreams.forEach((u, i) => {
    const r = raw[i]
    if (r === undefined) return
    const m = decode(r)
    if (Option.isSome(m)) result.set(upstreamKey(u.provider, u.model), m.value)
  })
  return result
}

/** A failed metrics read, logged: routing goes on without metrics. */
export const metricsUnread = warn("getMany")

export const makeRoutingMetrics = (config: MetricsConfig = defaultMetricsConfig) =>
  Effect.gen(function* () {
    const kv = yield* Kv

    /**
     * Records attempts of one upstream, in order: one read and one write however many there are
     * (a busy gateway records its successes in batches). Never fails: metrics are best effort.
     */
    const recordAll = Effect.fnUntraced(
      function* (provider: string, model: string, samples: ReadonlyArray<Pick<AttemptSample, "latencyMs" | "result">>) {
        if (samples.every((sample) => sample.result._tag === "Neutral")) return
        const key = metricsKey(provider, model)
        const now = yield* Clock.currentTimeMillis
        const raw = yield* kv.get(key)
        let next = raw === undefined ? undefined : Option.getOrUndefined(decode(raw))
        for (const sample of samples) next = updateMetrics(next, sample, now, config)
        if (next !== undefined) yield* kv.set(key, encode(next), config.ttl)
      },
      Effect.catchAll(warn("record")),
    )

    /** Records one attempt. Never fails: metrics are best effort. */
    const record = (sample: AttemptSample) => recordAll(sample.provider, sample.model, [sample])

    /** Metrics of many upstreams in one round trip, keyed by `upstreamKey(provider, model)`. */
    const getMany = Effect.fnUntraced(function* (upstreams: ReadonlyArray<UpstreamRef>) {
      if (upstreams.length === 0) return new Map() as ReadonlyMap<string, UpstreamMetrics>
      const raw = yield* kv
        .getMany(metricsKeys(upstreams))
        .pipe(Effect.catchAll((e) => Effect.as(metricsUnread(e), [] as ReadonlyArray<string | undefined>)))
      return metricsFrom(upstreams, raw)
    })

    return { record, recordAll, getMany } as const
  })

export class RoutingMetrics extends Effect.Service<RoutingMetrics>()("gateway/routing/RoutingMetrics", {
  effect: makeRoutingMetrics(),
}) {}
