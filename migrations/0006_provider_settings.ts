import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A provider's plain settings (region, costs, max_qps) move into one JSON object in the shape of
 * `shared/ProviderSettings.ts` (issue 13 item 4): the columns added nothing the database uses, and
 * with them every new setting cost a column, SQL in two repositories and a mapping per layer.
 * Existing values are copied (unset ones left out, an empty region read as unset, as the Schema
 * has it) and the columns dropped. `updated_at` does not move: the provider did not change.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE providers ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb`
  yield* sql`
    UPDATE providers SET settings = jsonb_strip_nulls(jsonb_build_object(
      'region', NULLIF(region, ''), 'cost_input', cost_input, 'cost_output', cost_output, 'max_qps', max_qps
    ))`
  yield* sql`ALTER TABLE providers DROP COLUMN region, DROP COLUMN cost_input, DROP COLUMN cost_output, DROP COLUMN max_qps`
})
