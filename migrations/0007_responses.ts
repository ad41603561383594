import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Stored Responses (issue 14 item 3): one row per response id the gateway handed out with
 * `store: true`, readable by its owner only (`GET /v1/responses/{id}`, `previous_response_id`).
 *
 * - `provider` set: the provider holds the response natively (its own Responses store); the row
 *   only says where (and with which key) a follow-up, a GET or a DELETE must go.
 * - `provider` NULL: the gateway holds the conversation itself — `response` is the response
 *   object and `input_items` every input item of that turn, earlier turns included, each as JSON
 *   text (kept byte for byte; the database never looks inside). `bytes` is their size.
 *
 * `expires_at` (NULL: kept forever) is RESPONSES_RETENTION_DAYS after creation; expired rows are
 * never served and are deleted hourly. No foreign keys: a row outlives a deleted provider or key.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE responses (
      id varchar(200) PRIMARY KEY,
      owner text NOT NULL,
      provider varchar(50),
      provider_key_id text,
      model text NOT NULL,
      response text,
      input_items text,
      bytes integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz
    )`
  yield* sql`CREATE INDEX responses_expires_at ON responses (expires_at) WHERE expires_at IS NOT NULL`
})
