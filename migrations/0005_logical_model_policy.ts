import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A logical model's own timeouts, retries and mid-stream rescue setting (issue 12 item 4), as
 * one JSON object in the shape of `shared/LogicalModelPolicy.ts`; `{}` keeps the defaults.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE logical_models ADD COLUMN policy jsonb NOT NULL DEFAULT '{}'::jsonb`
})
