/**
 * The logical-model and routing answers the console reads (snake_case, as on the wire; see
 * /openapi.json, groups "Logical models" and "Routing").
 */

export const STRATEGIES = ["balanced", "latency_first", "cost_first", "reliability_first"] as const
export type Strategy = (typeof STRATEGIES)[number]

export interface LogicalUpstream {
  readonly provider: string
  readonly model: string
  readonly weight: number
  readonly priority: number
}

/** A logical model's own timeouts (seconds), retries and mid-stream rescue; absent: the gateway's defaults. */
export interface ModelPolicy {
  readonly timeouts?: { readonly first_token?: number; readonly idle?: number; readonly request?: number }
  readonly retries?: number
  readonly rescue?: boolean
}

/** The body of `POST /logical-models` without its `id`, and of `PUT /logical-models/{id}`. */
export interface LogicalModelBody extends ModelPolicy {
  readonly name: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: Strategy
  readonly upstreams: ReadonlyArray<LogicalUpstream>
}

export interface LogicalModel extends LogicalModelBody {
  readonly id: string
  readonly created_at: string
  readonly updated_at: string
}

export interface LogicalModelList {
  readonly models: ReadonlyArray<LogicalModel>
  readonly total: number
}

export type Circuit = "closed" | "open" | "half_open"

export interface Score {
  readonly score: number
  readonly base_weight: number
  /** base_weight × the dynamic factor. */
  readonly weight: number
  readonly latency: number
  readonly error: number
  readonly cost: number
  readonly penalty: number
  readonly confidence: number
  readonly status: string
}

export type AttemptReason = "sticky" | "weighted_choice" | "score_order" | "half_open_probe" | "panic"

export interface PlannedAttempt {
  readonly provider: string
  readonly model: string
  readonly priority: number
  readonly circuit: Circuit
  readonly reason: AttemptReason
  readonly score: Score
}

export interface SkippedUpstream {
  readonly provider: string
  readonly model: string
  readonly reason: "circuit_open"
  readonly retry_after_ms: number | null
  readonly score: Score
}

/** The body of `POST /routing/decide`. */
export interface DecideBody {
  readonly logical_model: string
  readonly conversation_id?: string
  readonly api_key_id?: string
  readonly user_id?: string
  readonly exclude_providers?: ReadonlyArray<string>
  readonly bind?: boolean
}

export interface Decision {
  readonly logical_model: string
  readonly resolved_as: string
  readonly source: string
  readonly strategy: string
  readonly selected_upstream: PlannedAttempt | null
  readonly reasoning: string
  readonly sticky: string
  readonly attempts: ReadonlyArray<PlannedAttempt>
  readonly skipped: ReadonlyArray<SkippedUpstream>
  readonly retry_after_ms: number | null
  readonly decision_time_ms: number
  readonly bound: boolean
}
