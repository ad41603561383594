/**
 * The ordered attempt plan for one request (docs/ARCHITECTURE.md, "Request pipeline", step 3).
 * Pure: metrics, circuit states, the session binding, the clock and the random draw are all inputs.
 *
 * Rules:
 * - each (provider, model) appears at most once;
 * - priority tiers are never left out of order: every attempt of tier n comes before any
 *   attempt of tier n+1;
 * - candidates whose circuit is open (cooldown not elapsed) are skipped. Half-open candidates
 *   (cooldown elapsed) stay in the plan, after the closed ones of their tier: the caller must win
 *   the probe (CircuitBreaker.acquire) before sending, so exactly one request probes;
 * - panic mode (Envoy's name for it): when every candidate is open, the plan is the one candidate
 *   whose cooldown ends first, with reason `panic` — the request still goes out, as that
 *   upstream's probe, instead of the gateway refusing it because of earlier failures alone (a
 *   model with a single upstream is never taken down by its own breaker). `retryAfterMs` then
 *   carries the shortest remaining cooldown;
 * - the first attempt is the session's bound upstream when it is in the best available tier, its
 *   circuit is closed and its score reaches `minScore` (a failing upstream does not hold its
 *   sessions hostage); otherwise a weighted random draw (weights = scores) among the closed
 *   candidates of the best tier that reach `minScore` (all closed ones if none does; the
 *   half-open ones when the tier has nothing else);
 * - the rest follow by tier, then closed before half-open, then score descending.
 */

import type { RoutingStrategyName } from "../shared/ProviderVocabulary.js"
import type { Candidate } from "./Candidates.js"
import { candidateKey, dedupeCandidates, upstreamKey } from "./Candidates.js"
import type { CircuitStatus, ScoreBreakdown, ScoringConfig, Strategy, UpstreamMetrics } from "./Scoring.js"
import { defaultScoringConfig, providerCost, relativeCosts, score, strategies } from "./Scoring.js"

export interface CircuitView {
  readonly status: CircuitStatus
  /** For `open`: time until the cooldown ends. */
  readonly retryAfterMs?: number
}

export interface StickyTarget {
  readonly provider: string
  readonly model: string
}

export interface PlanInput {
  readonly candidates: ReadonlyArray<Candidate>
  readonly strategy: RoutingStrategyName | Strategy
  /** Metrics by `upstreamKey(provider, model)`. */
  readonly metrics: ReadonlyMap<string, UpstreamMetrics>
  /**
   * Circuit state by provider id (the connection) and by `upstreamKey(provider, model)` (the
   * model's answers); a candidate's circuit is the worse of the two. Absent means closed.
   */
  readonly circuits: ReadonlyMap<string, CircuitView>
  /** The session's bound upstream, already checked to belong to this logical model. */
  readonly sticky: StickyTarget | null
  readonly now: number
  /** A uniform draw in [0, 1), or a generator of them. */
  readonly random: number | (() => number)
  readonly scoring?: ScoringConfig
}

export type AttemptReason = "sticky" | "weighted_choice" | "score_order" | "half_open_probe" | "panic"

export interface PlannedAttempt {
  readonly candidate: Candidate
  readonly priority: number
  readonly circuit: CircuitStatus
  readonly score: ScoreBreakdown
  readonly reason: AttemptReason
}

export interface SkippedCandidate {
  readonly candidate: Candidate
  readonly score: ScoreBreakdown
  readonly reason: "circuit_open"
  readonly retryAfterMs: number | undefined
}

export type StickyOutcome =
  | "none"
  | "applied"
  | "not_a_candidate"
  | "circuit_not_closed"
  | "below_min_score"
  | "not_in_best_tier"

export interface Plan {
  readonly strategy: Strategy
  readonly attempts: ReadonlyArray<PlannedAttempt>
  readonly skipped: ReadonlyArray<SkippedCandidate>
  readonly sticky: StickyOutcome
  /** In panic mode (every candidate open): the shortest remaining cooldown. */
  readonly retryAfterMs: number | undefined
}

interface Scored {
  readonly candidate: Candidate
  readonly index: number
  readonly circuit: CircuitView
  readonly score: ScoreBreakdown
}

const closed: CircuitView = { status: "closed" }

const severity = { closed: 0, half_open: 1, open: 2 } as const

/** The worse of two circuits (open beats half-open beats closed; of two open ones, the longer wait). */
export const worseCircuit = (a: CircuitView | undefined, b: CircuitView | undefined): CircuitView => {
  if (a === undefined) return b ?? closed
  if (b === undefined) return a
  if (severity[a.status] !== severity[b.status]) return severity[a.status] > severity[b.status] ? a : b
  return (a.retryAfterMs ?? 0) >= (b.retryAfterMs ?? 0) ? a : b
}

const byScoreDesc = (a: Scored, b: Scored): number => b.score.score - a.score.score || a.index - b.index

/**
 * Weighted random choice: weight = max(score, 0); `r` in [0, 1). Uniform when every weight is 0.
 * Exported for property tests of the frequencies.
 */
export const weightedPick = <A>(items: ReadonlyArray<A>, weightOf: (a: A) => number, r: number): A | undefined => {
  if (items.length === 0) return undefined
  const weights = items.map((a) => Math.max(0, weightOf(a)))
  const total = weights.reduce((s, w) => s + w, 0)
  const u = Math.min(Math.max(r, 0), 1 - Number.EPSILON)
  if (!(total > 0) || !Number.isFinite(total)) return items[Math.floor(u * items.length)]
  const target = u * total
  let acc = 0
  for (let i = 0; i < items.length; i++) {
    acc += weights[i]!
    if (target < acc) return items[i]
  }
  // Rounding: the last item with positive weight.
  for (let i = items.length - 1; i >= 0; i--) if (weights[i]! > 0) return items[i]
  return items[items.length - 1]
}

export const resolveStrategy = (s: RoutingStrategyName | Strategy): Strategy =>
  typeof s === "string" ? strategies[s] : s

export const buildPlan = (input: PlanInput): Plan => {
  const strategy = resolveStrategy(input.strategy)
  const config = input.scoring ?? defaultScoringConfig
  const draw = typeof input.random === "number" ? input.random : input.random()
  const candidates = dedupeCandidates(input.candidates)
  const costs = relativeCosts(candidates.map((c) => providerCost(c.provider)))

  const scored: Array<Scored> = candidates.map((candidate, index) => {
    const circuit = worseCircuit(input.circuits.get(candidateKey(candidate)), input.circuits.get(candidate.provider.id))
    return {
      candidate,
      index,
      circuit,
      score: score(
        {
          baseWeight: candidate.weight,
          metrics: input.metrics.get(upstreamKey(candidate.provider.id, candidate.model)),
          cost: costs[index]!,
          circuit: circuit.status,
        },
        strategy,
        input.now,
        config,
      ),
    }
  })

  const skipped: Array<SkippedCandidate> = scored
    .filter((s) => s.circuit.status === "open")
    .map((s) => ({
      candidate: s.candidate,
      score: s.score,
      reason: "circuit_open",
      retryAfterMs: s.circuit.retryAfterMs,
    }))
  const available = scored.filter((s) => s.circuit.status !== "open")

  if (available.length === 0) {
    // Panic mode: the candidate whose cooldown ends first goes out anyway, as its probe (best
    // tier, then plan order, break ties).
    let soonest = scored[0]!
    for (const s of scored) {
      const wait = s.circuit.retryAfterMs ?? 0
      const best = soonest.circuit.retryAfterMs ?? 0
      if (wait < best || (wait === best && s.candidate.priority < soonest.candidate.priority)) soonest = s
    }
    return {
      strategy,
      attempts: [
        {
          candidate: soonest.candidate,
          priority: soonest.candidate.priority,
          circuit: "open",
          score: soonest.score,
          reason: "panic",
        },
      ],
      skipped: skipped.filter((s) => s.candidate !== soonest.candidate),
      sticky: input.sticky === null ? "none" : "circuit_not_closed",
      retryAfterMs: Math.max(0, soonest.circuit.retryAfterMs ?? 0),
    }
  }

  const priorities = [...new Set(available.map((s) => s.candidate.priority))].sort((a, b) => a - b)
  const tiers = priorities.map((p) => {
    const inTier = available.filter((s) => s.candidate.priority === p)
    return [
      ...inTier.filter((s) => s.circuit.status === "closed").sort(byScoreDesc),
      ...inTier.filter((s) => s.circuit.status === "half_open").sort(byScoreDesc),
    ]
  })
  const best = tiers[0]!

  let first: Scored | undefined
  let firstReason: AttemptReason = "weighted_choice"
  let stickyOutcome: StickyOutcome = "none"
  if (input.sticky !== null) {
    const key = upstreamKey(input.sticky.provider, input.sticky.model)
    const bound = scored.find((s) => candidateKey(s.candidate) === key)
    if (bound === undefined) stickyOutcome = "not_a_candidate"
    else if (bound.circuit.status !== "closed") stickyOutcome = "circuit_not_closed"
    else if (bound.score.score < strategy.minScore) stickyOutcome = "below_min_score"
    else if (!best.includes(bound)) stickyOutcome = "not_in_best_tier"
    else {
      stickyOutcome = "applied"
      first = bound
      firstReason = "sticky"
    }
  }
  if (first === undefined) {
    const closedInBest = best.filter((s) => s.circuit.status === "closed")
    const eligible = closedInBest.filter((s) => s.score.score >= strategy.minScore)
    const pool = eligible.length > 0 ? eligible : closedInBest.length > 0 ? closedInBest : best
    first = weightedPick(pool, (s) => s.score.score, draw)!
    if (first.circuit.status === "half_open") firstReason = "half_open_probe"
  }

  const attempts: Array<PlannedAttempt> = []
  const push = (s: Scored, reason: AttemptReason) =>
    attempts.push({
      candidate: s.candidate,
      priority: s.candidate.priority,
      circuit: s.circuit.status,
      score: s.score,
      reason,
    })
  push(first, firstReason)
  for (const tier of tiers) {
    for (const s of tier) {
      if (s !== first) push(s, s.circuit.status === "half_open" ? "half_open_probe" : "score_order")
    }
  }

  return { strategy, attempts, skipped, sticky: stickyOutcome, retryAfterMs: undefined }
}

/** A JSON-safe view of a plan (ids and numbers only: no provider secrets), for `/routing/decide` and logs. */
export const describePlan = (plan: Plan) => ({
  strategy: plan.strategy.name,
  sticky: plan.sticky,
  retryAfterMs: plan.retryAfterMs ?? null,
  attempts: plan.attempts.map((a) => ({
    provider: a.candidate.provider.id,
    model: a.candidate.model,
    priority: a.priority,
    circuit: a.circuit,
    reason: a.reason,
    score: a.score,
  })),
  skipped: plan.skipped.map((s) => ({
    provider: s.candidate.provider.id,
    model: s.candidate.model,
    reason: s.reason,
    retryAfterMs: s.retryAfterMs ?? null,
    score: s.score,
  })),
})
