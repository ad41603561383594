import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The request log (issue 15 item 1, docs/ARCHITECTURE.md "Request log"): one row per client
 * request of the data plane whose caller was authenticated, written off the request path in
 * batches by `usage/RequestLogWriter`. `id` is made by the gateway (the client's `request_id` may
 * repeat), so a batch written twice after an ambiguous failure inserts each row once.
 * `attempts` is a JSON array of `{provider, model, outcome, status, ms}`. `cost_nanousd` is
 * integer nano-dollars (usage/Cost), as `usage_minutes.cost_nanousd`: rows add up exactly. No foreign keys: a
 * row outlives a deleted key or user. Older rows than REQUEST_LOG_RETENTION_DAYS are deleted in
 * batches (the `started_at` index).
 *
 * The indexes serve `GET /logs`: newest first over a time range, for everything (a superuser),
 * one user (their own keys) or one key; the other filters (model, provider, status, error
 * class) narrow those scans.
 *
 * `request_body` / `response_body`: only for keys with `api_keys.log_bodies` (off by default),
 * capped and with credentials redacted.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE request_log (
      id uuid PRIMARY KEY,
      started_at timestamptz NOT NULL,
      request_id varchar(128) NOT NULL,
      user_id uuid,
      api_key_id uuid,
      dialect varchar(32) NOT NULL,
      endpoint varchar(100) NOT NULL,
      requested_model varchar(256),
      stream boolean NOT NULL,
      provider varchar(50),
      model varchar(256),
      attempts jsonb NOT NULL DEFAULT '[]',
      status smallint NOT NULL,
      complete boolean NOT NULL,
      rescued boolean NOT NULL DEFAULT false,
      latency_ms integer NOT NULL,
      ttft_ms integer,
      input_tokens bigint,
      output_tokens bigint,
      cached_input_tokens bigint,
      reasoning_tokens bigint,
      cost_nanousd bigint,
      error_class varchar(64),
      error_message varchar(300),
      request_body text,
      response_body text,
      bodies_truncated boolean NOT NULL DEFAULT false
    )`
  yield* sql`CREATE INDEX request_log_started ON request_log (started_at, id)`
  yield* sql`CREATE INDEX request_log_user ON request_log (user_id, started_at, id)`
  yield* sql`CREATE INDEX request_log_key ON request_log (api_key_id, started_at, id)`
  yield* sql`ALTER TABLE api_keys ADD COLUMN log_bodies boolean NOT NULL DEFAULT false`
})
