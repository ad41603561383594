import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * JWT revocations that survive restarts in every mode (issue 11, item 6):
 *
 * - `users.token_generation`: every token carries the generation it was issued under; a new
 *   password or email bumps it, and older tokens are refused.
 * - `revoked_tokens`: ended logins (`family:<fam>`) and spent refresh tokens (`refresh:<jti>`),
 *   each until the longest-lived token it can concern has expired (then pruned).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0`
  yield* sql`
    CREATE TABLE revoked_tokens (
      id varchar(80) PRIMARY KEY,
      expires_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at)`
})
