import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Budgets (issue 15 item 3): a spend limit per API key and per user — an amount in nano-dollars
 * (1e-9 USD, like `usage_minutes.cost_nanousd`) per `day`, `week`, `month` or in `total`, and
 * whether it is soft (logged, never refused). No budget: all three unset (`budget_soft` false).
 * A budget's spend in its period is read from `usage_minutes` by API key or by user (the latter
 * has its index since 0002), hence the index by API key.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of ["api_keys", "users"] as const) {
    yield* sql.unsafe(`
      ALTER TABLE ${table}
        ADD COLUMN budget_nanousd bigint,
        ADD COLUMN budget_period text,
        ADD COLUMN budget_soft boolean NOT NULL DEFAULT false,
        ADD CONSTRAINT ${table}_budget_check CHECK (
          (budget_nanousd IS NULL) = (budget_period IS NULL)
          AND (budget_nanousd IS NULL OR budget_nanousd >= 0)
          AND (budget_period IS NULL OR budget_period IN ('day', 'week', 'month', 'total'))
        )`)
  }
  yield* sql`CREATE INDEX usage_minutes_api_key ON usage_minutes (api_key_id, minute)`
})
