import type { AttemptReason, DecideBody, Decision, Score } from "../api/RoutingTypes.js"

/**
 * The decide panel's pure parts: its form → the body of `POST /routing/decide`, and the decision
 * → one table row per candidate, in the order the gateway would try them, the skipped ones last.
 */

export interface DecideDraft {
  readonly model: string
  readonly conversationId: string
  readonly apiKeyId: string
  readonly userId: string
  /** Comma- or space-separated provider ids. */
  readonly exclude: string
  readonly bind: boolean
}

export const emptyDecideDraft: DecideDraft = {
  model: "",
  conversationId: "",
  apiKeyId: "",
  userId: "",
  exclude: "",
  bind: false,
}

/** Empty fields are left out: the API's defaults (the caller's own session, nothing excluded, no binding). */
export const decideBodyOf = (draft: DecideDraft): DecideBody => {
  const exclude = draft.exclude
    .split(/[\s,]+/)
    .map((id) => id.trim())
    .filter((id) => id !== "")
  const optional = (key: "conversation_id" | "api_key_id" | "user_id", value: string) =>
    value.trim() === "" ? {} : { [key]: value.trim() }
  return {
    logical_model: draft.model.trim(),
    ...optional("conversation_id", draft.conversationId),
    ...optional("api_key_id", draft.apiKeyId),
    ...optional("user_id", draft.userId),
    ...(exclude.length === 0 ? {} : { exclude_providers: exclude }),
    ...(draft.bind ? { bind: true } : {}),
  }
}

export interface PlanRow {
  /** "1", "2"… in plan order; "–" for a skipped upstream. */
  readonly order: string
  readonly upstream: string
  readonly priority: string
  readonly circuit: string
  /** Why it is where it is. */
  readonly why: string
  readonly selected: boolean
  readonly score: string
  /** "base × factor = weight". */
  readonly weight: string
  readonly health: string
  readonly latency: string
  readonly error: string
  readonly cost: string
  readonly penalty: string
  readonly confidence: string
}

/** The plan table's columns after the order and the upstream: the row's field, its heading. */
export const PLAN_COLUMNS: ReadonlyArray<readonly [Exclude<keyof PlanRow, "order" | "upstream" | "selected">, string]> =
  [
    ["why", "Why"],
    ["score", "Score"],
    ["priority", "Priority"],
    ["circuit", "Circuit"],
    ["health", "Health"],
    ["weight", "Weight"],
    ["latency", "Latency"],
    ["error", "Error"],
    ["cost", "Cost"],
    ["penalty", "Penalty"],
    ["confidence", "Confidence"],
  ]

const REASONS: Record<AttemptReason, string> = {
  sticky: "the conversation's bound upstream (sticky)",
  weighted_choice: "drawn by weight among the best tier",
  score_order: "fallback, by score",
  half_open_probe: "probe of a half-open circuit",
  panic: "every circuit is open: the one that reopens first",
}

const CIRCUITS: Record<string, string> = { closed: "closed", open: "open", half_open: "half-open" }

/** Three decimals, without a negative zero. */
export const decimal = (value: number): string => {
  const fixed = value.toFixed(3)
  return fixed === "-0.000" ? "0.000" : fixed
}

/** "12 s", "1.5 s", "250 ms". */
export const duration = (ms: number): string =>
  ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms)} ms`

const scoreCells = (score: Score) => ({
  score: decimal(score.score),
  weight: `${Number(score.base_weight.toFixed(3))} × ${decimal(
    score.base_weight === 0 ? 1 : score.weight / score.base_weight,
  )} = ${decimal(score.weight)}`,
  health: score.status.replace("_", "-"),
  latency: decimal(score.latency),
  error: decimal(score.error),
  cost: decimal(score.cost),
  penalty: decimal(score.penalty),
  confidence: decimal(score.confidence),
})

export const planRows = (decision: Decision): ReadonlyArray<PlanRow> => [
  ...decision.attempts.map((attempt, index) => ({
    order: String(index + 1),
    upstream: `${attempt.provider}/${attempt.model}`,
    priority: String(attempt.priority),
    circuit: CIRCUITS[attempt.circuit] ?? attempt.circuit,
    why: REASONS[attempt.reason] ?? attempt.reason,
    selected:
      decision.selected_upstream !== null &&
      index === 0 &&
      decision.selected_upstream.provider === attempt.provider &&
      decision.selected_upstream.model === attempt.model,
    ...scoreCells(attempt.score),
  })),
  ...decision.skipped.map((skipped) => ({
    order: "–",
    upstream: `${skipped.provider}/${skipped.model}`,
    priority: "",
    circuit: "open",
    why:
      skipped.retry_after_ms === null
        ? "skipped: circuit open"
        : `skipped: circuit open, retried in ${duration(skipped.retry_after_ms)}`,
    selected: false,
    ...scoreCells(skipped.score),
  })),
]
