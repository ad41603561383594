import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * What usage cost (issue 15 item 2): `cost_nanousd` sums the cost of a row's answers in
 * nano-dollars (1e-9 USD, integers: exact sums; usage/Cost.ts), `unpriced` counts its answers
 * whose model had no price (their cost is unknown, not zero). Rows written before this
 * migration read as 0 and 0: their cost was never known.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    ALTER TABLE usage_minutes
      ADD COLUMN cost_nanousd bigint NOT NULL DEFAULT 0,
      ADD COLUMN unpriced integer NOT NULL DEFAULT 0`
})
