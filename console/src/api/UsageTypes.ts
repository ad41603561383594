import type { ApiKey, User } from "./Types.js"

/** `GET /usage` and the budget routes, as on the wire (see /openapi.json). */

export interface UsageCounts {
  readonly requests: number
  readonly incomplete: number
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cached_input_tokens: number
  /** USD as an exact decimal string; null when none of the requests was priced. */
  readonly cost_usd: string | null
  readonly unpriced_requests: number
}

export interface UsageRow extends UsageCounts {
  readonly api_key_id: string | null
  readonly user_id: string | null
  readonly provider: string
  readonly model: string
  /** With group_by=day: the UTC day, YYYY-MM-DD. */
  readonly day?: string
  /** With group_by=hour: the UTC hour's start, ISO. */
  readonly hour?: string
}

export interface UsageResponse {
  readonly from: string
  readonly to: string
  readonly rows: ReadonlyArray<UsageRow>
  readonly totals: UsageCounts
}

export type BudgetPeriod = "day" | "week" | "month" | "total"

/** A budget as a user or a key shows it. */
export interface BudgetSetting {
  readonly amount_usd: string
  readonly period: BudgetPeriod
  readonly soft: boolean
}

/** A budget with what its current period used (`GET …/budget`). */
export interface BudgetStatus extends BudgetSetting {
  readonly budget: "api_key" | "user"
  readonly user_id: string
  readonly api_key_id: string | null
  readonly period_start: string | null
  readonly resets_at: string | null
  readonly used_usd: string
  readonly remaining_usd: string
  readonly exceeded: boolean
}

export interface BudgetedUser extends User {
  readonly budget: BudgetSetting | null
}

export interface BudgetedKey extends ApiKey {
  readonly user_id: string
  readonly budget: BudgetSetting | null
}
