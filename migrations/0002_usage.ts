import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Token usage per minute, per caller (API key, or the master key) and upstream (docs/ARCHITECTURE.md,
 * State: written asynchronously, batched). No foreign keys: usage outlives a deleted key or user.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE usage_minutes (
      minute timestamptz NOT NULL,
      caller text NOT NULL,
      api_key_id uuid,
      user_id uuid,
      provider varchar(50) NOT NULL,
      model text NOT NULL,
      requests integer NOT NULL DEFAULT 0,
      incomplete integer NOT NULL DEFAULT 0,
      input_tokens bigint NOT NULL DEFAULT 0,
      output_tokens bigint NOT NULL DEFAULT 0,
      cached_input_tokens bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (minute, caller, provider, model)
    )`
  yield* sql`CREATE INDEX usage_minutes_user ON usage_minutes (user_id, minute)`
})
