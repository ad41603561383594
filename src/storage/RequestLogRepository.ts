import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { RequestRecord } from "../shared/RequestRecord.js"

/** Rows per INSERT: 24 parameters each, well under Postgres's 65 535 per statement. */
export const ROWS_PER_STATEMENT = 1_000

/** Rows deleted per statement when old rows are pruned: a bounded lock and WAL burst each time. */
export const DELETE_BATCH_ROWS = 5_000

const rowOf = (r: RequestRecord) => ({
  id: r.id,
  started_at: new Date(r.startedAt),
  request_id: r.requestId,
  user_id: r.userId,
  api_key_id: r.apiKeyId,
  dialect: r.dialect,
  endpoint: r.endpoint,
  requested_model: r.requestedModel,
  stream: r.stream,
  provider: r.provider,
  model: r.model,
  attempts: JSON.stringify(r.attempts),
  status: r.status,
  complete: r.complete,
  rescued: r.rescued,
  latency_ms: r.latencyMs,
  ttft_ms: r.ttftMs,
  input_tokens: r.inputTokens,
  output_tokens: r.outputTokens,
  cached_input_tokens: r.cachedInputTokens,
  reasoning_tokens: r.reasoningTokens,
  cost_usd: r.costUsd,
  error_class: r.errorClass,
  error_message: r.errorMessage,
})

/** SQL for `request_log` (migrations/0008). Buffering, batching and retrying belong to `usage/RequestLogWriter`. */
export class RequestLogRepository extends Effect.Service<RequestLogRepository>()("gateway/storage/RequestLogRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /**
     * Inserts `rows` (at most ROWS_PER_STATEMENT) in one statement. A row already there (a
     * batch retried after an answer that was lost) is left as it is.
     */
    const insert = (rows: ReadonlyArray<RequestRecord>) =>
      rows.length === 0 ? Effect.void : sql`INSERT INTO request_log ${sql.insert(rows.map(rowOf))} ON CONFLICT (id) DO NOTHING`.pipe(Effect.asVoid)

    /** Deletes at most `limit` rows that started before `cutoff`; how many it deleted. */
    const deleteBefore = (cutoff: Date, limit: number = DELETE_BATCH_ROWS) =>
      sql<{ n: number }>`
        WITH gone AS (
          DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE started_at < ${cutoff} LIMIT ${limit}) RETURNING 1
        )
        SELECT count(*)::int AS n FROM gone`.pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    return { insert, deleteBefore } as const
  }),
}) {}
