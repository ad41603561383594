/**
 * Candidate scoring (docs/ARCHITECTURE.md, "Request pipeline", step 3), pure:
 *
 *   score = weight·factor − α·latency − β·error − γ·cost − δ·statusPenalty
 *
 * `latency`, `error` and `factor` come from metrics recorded on every attempt
 * (see RoutingMetrics). Old evidence fades: with age, and with few samples, each term moves
 * toward its neutral value (latency 0.5, error 0, factor 1), so a provider that failed an hour
 * ago scores like a fresh one: nobody is excluded for good.
 */
import { Schema } from "effect"
import type { Provider } from "../registry/Provider.js"
import type { RoutingStrategyName } from "../shared/ProviderVocabulary.js"

export interface Strategy {
  readonly name: RoutingStrategyName
  /** Latency. */
  readonly alpha: number
  /** Error rate. */
  readonly beta: number
  /** Cost. */
  readonly gamma: number
  /** Status penalty (open/half-open circuit, degraded/down health). */
  readonly delta: number
  /** Candidates below this score are not chosen by the weighted draw, but stay in the plan as fallbacks. */
  readonly minScore: number
}

export const strategies: Readonly<Record<RoutingStrategyName, Strategy>> = {
  balanced: { name: "balanced", alpha: 0.3, beta: 0.3, gamma: 0.2, delta: 0.2, minScore: 0.1 },
  latency_first: { name: "latency_first", alpha: 0.6, beta: 0.2, gamma: 0.1, delta: 0.1, minScore: 0.1 },
  cost_first: { name: "cost_first", alpha: 0.2, beta: 0.2, gamma: 0.5, delta: 0.1, minScore: 0.1 },
  reliability_first: { name: "reliability_first", alpha: 0.3, beta: 0.5, gamma: 0.1, delta: 0.1, minScore: 0.1 },
}

/** Metrics of one upstream (provider, model), as stored in Kv by RoutingMetrics. */
export const UpstreamMetrics = Schema.Struct({
  /** EWMA of attempt latency (time to first byte or full response), ms. */
  latencyEwmaMs: Schema.Number,
  /** EWMA of the penalisable-failure indicator, in [0, 1]. */
  errorEwma: Schema.Number,
  /** Number of attempts recorded (saturates; used as confidence). */
  samples: Schema.Number,
  /** Epoch ms of the last recorded attempt. */
  updatedAt: Schema.Number,
  /** Dynamic weight multiplier, bounded to [minWeightFactor, maxWeightFactor]. */
  weightFactor: Schema.optionalWith(Schema.Number, { default: () => 1 }),
})
export type UpstreamMetrics = typeof UpstreamMetrics.Type

export interface ScoringConfig {
  /** Latency that counts as the worst (normalised latency 1). */
  readonly latencyScaleMs: number
  /** Evidence loses half its weight every `halfLifeMs` without new samples. */
  readonly halfLifeMs: number
  /** Pseudo-samples of neutral prior: confidence = samples / (samples + priorSamples). */
  readonly priorSamples: number
  readonly minWeightFactor: number
  readonly maxWeightFactor: number
  /** Latency EWMA above which an upstream counts as degraded. */
  readonly degradedLatencyMs: number
}

export const defaultScoringConfig: ScoringConfig = {
  latencyScaleMs: 4000,
  halfLifeMs: 5 * 60_000,
  priorSamples: 2,
  minWeightFactor: 0.2,
  maxWeightFactor: 3,
  degradedLatencyMs: 2000,
}

export const NEUTRAL_LATENCY = 0.5

export type CircuitStatus = "closed" | "half_open" | "open"

/** `unknown`: nothing was learnt of the upstream yet (never called, or its evidence fully decayed) — never "healthy" by default. */
export type HealthStatus = "unknown" | "healthy" | "degraded" | "down" | "half_open" | "open"

export interface EffectiveMetrics {
  /** Normalised latency in [0, 1]. */
  readonly latency: number
  /** Error rate in [0, 1]. */
  readonly error: number
  /** Weight multiplier in [minWeightFactor, maxWeightFactor]. */
  readonly weightFactor: number
  /** How much the evidence counts, in [0, 1]. */
  readonly confidence: number
  /** The recorded latency EWMA, ms (0 when none). */
  readonly latencyMs: number
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** 1 for fresh evidence, halving every `halfLifeMs`. */
export const decayFactor = (ageMs: number, halfLifeMs: number): number => (ageMs <= 0 ? 1 : 0.5 ** (ageMs / halfLifeMs))

/** Metrics as they count now: decayed with age toward neutral, weighted by sample confidence. */
export const effectiveMetrics = (
  m: UpstreamMetrics | undefined,
  now: number,
  config: ScoringConfig = defaultScoringConfig,
): EffectiveMetrics => {
  if (m === undefined || m.samples <= 0) {
    return { latency: NEUTRAL_LATENCY, error: 0, weightFactor: 1, confidence: 0, latencyMs: 0 }
  }
  const decay = decayFactor(now - m.updatedAt, config.halfLifeMs)
  const confidence = decay * (m.samples / (m.samples + config.priorSamples))
  const rawLatency = m.latencyEwmaMs > 0 ? Math.min(1, m.latencyEwmaMs / config.latencyScaleMs) : NEUTRAL_LATENCY
  const factor = clamp(m.weightFactor, config.minWeightFactor, config.maxWeightFactor)
  return {
    latency: confidence * rawLatency + (1 - confidence) * NEUTRAL_LATENCY,
    error: confidence * clamp(m.errorEwma, 0, 1),
    weightFactor: clamp(1 + (factor - 1) * decay, config.minWeightFactor, config.maxWeightFactor),
    confidence,
    latencyMs: Math.max(0, m.latencyEwmaMs),
  }
}

/**
 * Health for the routing API: unknown without evidence; error > 0.5 down; error > 0.1 or slow
 * degraded. The error rate is already weighted by confidence; slowness counts only on solid,
 * recent evidence. Scoring treats unknown as healthy (no penalty): a new upstream gets traffic.
 */
export const healthStatus = (eff: EffectiveMetrics, config: ScoringConfig = defaultScoringConfig): HealthStatus => {
  if (eff.confidence === 0) return "unknown"
  if (eff.error > 0.5) return "down"
  if (eff.error > 0.1 || (eff.confidence >= 0.5 && eff.latencyMs > config.degradedLatencyMs)) return "degraded"
  return "healthy"
}

export const statusPenalty = (status: HealthStatus): number => {
  switch (status) {
    case "open":
    case "down":
      return 1
    case "half_open":
    case "degraded":
      return 0.5
    case "healthy":
    case "unknown":
      return 0
  }
}

/** A provider's price per token pair, or undefined when it has none configured. */
export const providerCost = (p: Provider): number | undefined =>
  p.costInput === null && p.costOutput === null ? undefined : (p.costInput ?? 0) + (p.costOutput ?? 0)

/**
 * Costs normalised to [0, 1] against the most expensive candidate. With no prices anywhere
 * every cost is 0 (cost then ranks no one); an unknown price among known ones counts as 0.5.
 */
export const relativeCosts = (costs: ReadonlyArray<number | undefined>): ReadonlyArray<number> => {
  const known = costs.filter((c): c is number => c !== undefined && c >= 0)
  const max = known.length === 0 ? 0 : Math.max(...known)
  return costs.map((c) => (known.length === 0 ? 0 : c === undefined || c < 0 ? 0.5 : max === 0 ? 0 : c / max))
}

export interface ScoreBreakdown {
  readonly baseWeight: number
  /** baseWeight × the dynamic factor. */
  readonly weight: number
  readonly latency: number
  readonly error: number
  readonly cost: number
  readonly penalty: number
  readonly status: HealthStatus
  readonly confidence: number
  readonly score: number
}

export interface ScoreInput {
  readonly baseWeight: number
  readonly metrics: UpstreamMetrics | undefined
  /** Normalised cost in [0, 1] (see relativeCosts). */
  readonly cost: number
  readonly circuit: CircuitStatus
}

export const score = (
  input: ScoreInput,
  strategy: Strategy,
  now: number,
  config: ScoringConfig = defaultScoringConfig,
): ScoreBreakdown => {
  const eff = effectiveMetrics(input.metrics, now, config)
  // The circuit and the metrics are two views of health; the worse one counts.
  const health = healthStatus(eff, config)
  const circuitPenalty = input.circuit === "closed" ? 0 : statusPenalty(input.circuit)
  const status: HealthStatus =
    input.circuit !== "closed" && circuitPenalty > statusPenalty(health) ? input.circuit : health
  const penalty = Math.max(circuitPenalty, statusPenalty(health))
  const weight = Math.max(0, input.baseWeight) * eff.weightFactor
  const value =
    weight -
    strategy.alpha * eff.latency -
    strategy.beta * eff.error -
    strategy.gamma * input.cost -
    strategy.delta * penalty
  return {
    baseWeight: input.baseWeight,
    weight,
    latency: eff.latency,
    error: eff.error,
    cost: input.cost,
    penalty,
    status,
    confidence: eff.confidence,
    score: value,
  }
}
