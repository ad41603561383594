import type { BudgetSettingResponse, BudgetStatusResponse } from "../../../src/http/management/BudgetSchemas.js"
import type { UsageResponse as UsageSchema } from "../../../src/http/management/UsageApi.js"
import type { ApiKey, User } from "./Types.js"

/**
 * `GET /usage` and the budget routes as on the wire: the types of the management API's own
 * Schemas (type-only imports: nothing of the server is bundled), so they cannot drift.
 */

export type UsageResponse = typeof UsageSchema.Type
export type UsageRow = UsageResponse["rows"][number]
export type UsageCounts = UsageResponse["totals"]

/** A budget as a user or a key shows it. */
export type BudgetSetting = typeof BudgetSettingResponse.Type
/** A budget with what its current period used (`GET …/budget`). */
export type BudgetStatus = typeof BudgetStatusResponse.Type

export interface BudgetedUser extends User {
  readonly budget: BudgetSetting | null
}

export interface BudgetedKey extends ApiKey {
  readonly user_id: string
  readonly budget: BudgetSetting | null
}
