import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import type { RequestRecord } from "../shared/RequestRecord.js"

/** Rows per INSERT: one JSON parameter holds them all. */
export const ROWS_PER_STATEMENT = 1_000

/** Rows deleted per statement when old rows are pruned: a bounded lock and WAL burst each time. */
export const DELETE_BATCH_ROWS = 5_000

/**
 * The database answered and refused the rows themselves (SQLSTATE class 22, a value it cannot
 * take, or 23, a constraint): writing them again cannot help, unlike a lost connection.
 */
export class RowsRefused extends Schema.TaggedError<RowsRefused>()("RowsRefused", {
  code: Schema.String,
  message: Schema.String,
}) {}

const refusedCode = (error: SqlError.SqlError): string | undefined => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23")) ? code : undefined
}

/** A record as `jsonb_to_recordset` reads it (the column names of `request_log`). */
const rowOf = (r: RequestRecord) => ({
  id: r.id,
  started_at: new Date(r.startedAt).toISOString(),
  request_id: r.requestId,
  user_id: r.userId,
  api_key_id: r.apiKeyId,
  dialect: r.dialect,
  endpoint: r.endpoint,
  requested_model: r.requestedModel,
  stream: r.stream,
  provider: r.provider,
  model: r.model,
  attempts: r.attempts,
  status: r.status,
  complete: r.complete,
  rescued: r.rescued,
  latency_ms: r.latencyMs,
  ttft_ms: r.ttftMs,
  input_tokens: r.inputTokens,
  output_tokens: r.outputTokens,
  cached_input_tokens: r.cachedInputTokens,
  reasoning_tokens: r.reasoningTokens,
  cost_nanousd: r.costNanoUsd,
  error_class: r.errorClass,
  error_message: r.errorMessage,
  request_body: r.requestBody,
  response_body: r.responseBody,
  bodies_truncated: r.requestBodyTruncated || r.responseBodyTruncated,
})

/** Which rows `page` lists; every value reaches SQL as a parameter. */
export interface RequestLogFilter {
  /** Started at or after. */
  readonly from?: Date | undefined
  /** Started before. */
  readonly to?: Date | undefined
  readonly userId?: string | undefined
  readonly apiKeyId?: string | undefined
  /** The model asked for or the one that served. */
  readonly model?: string | undefined
  readonly provider?: string | undefined
  /** Statuses from `min` to `max`, both included (one status: both the same). */
  readonly status?: { readonly min: number; readonly max: number } | undefined
  readonly errorClass?: string | undefined
  /** Only rows before this one in the listing's order (`started_at`, then `id`, both descending). */
  readonly before?: { readonly startedAt: string; readonly id: string } | undefined
  readonly limit: number
}

/** A stored row as `page` reads it: the columns of `request_log`, the cost in nano-dollars as a decimal string. */
export interface RequestLogRow {
  readonly id: string
  readonly started_at: Date
  /** `started_at` as Postgres keeps it, to the microsecond (`YYYY-MM-DDTHH:MM:SS.ffffffZ`): the position of a cursor. */
  readonly started_at_us: string
  readonly request_id: string
  readonly user_id: string | null
  readonly api_key_id: string | null
  readonly dialect: string
  readonly endpoint: string
  readonly requested_model: string | null
  readonly stream: boolean
  readonly provider: string | null
  readonly model: string | null
  readonly attempts: unknown
  readonly status: number
  readonly complete: boolean
  readonly rescued: boolean
  readonly latency_ms: number
  readonly ttft_ms: number | null
  readonly input_tokens: number | null
  readonly output_tokens: number | null
  readonly cached_input_tokens: number | null
  readonly reasoning_tokens: number | null
  readonly cost_nanousd: string | null
  readonly error_class: string | null
  readonly error_message: string | null
  readonly request_body: string | null
  readonly response_body: string | null
  readonly bodies_truncated: boolean
}

/** SQL for `request_log` (migrations/0010). Buffering, batching and retrying belong to `usage/RequestLogWriter`. */
export class RequestLogRepository extends Effect.Service<RequestLogRepository>()(
  "gateway/storage/RequestLogRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /**
       * Inserts `rows` (at most ROWS_PER_STATEMENT) in one statement, all of them in one JSON
       * parameter: measured 1.5–3× faster than a parameter per value (24 000 for 1 000 rows), on
       * Postgres and PGlite alike, and one string to serialise instead of 24 000 values. A row
       * already there (a batch retried after an answer that was lost) is left as it is. Fails
       * with `RowsRefused` when the rows themselves are refused, else with the `SqlError`.
       */
      const insert = (rows: ReadonlyArray<RequestRecord>) =>
        rows.length === 0
          ? Effect.void
          : sql`
            INSERT INTO request_log (id, started_at, request_id, user_id, api_key_id, dialect, endpoint, requested_model, stream,
              provider, model, attempts, status, complete, rescued, latency_ms, ttft_ms, input_tokens, output_tokens,
              cached_input_tokens, reasoning_tokens, cost_nanousd, error_class, error_message, request_body, response_body,
              bodies_truncated)
            SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows.map(rowOf))}::jsonb) AS r(id uuid, started_at timestamptz,
              request_id varchar, user_id uuid, api_key_id uuid, dialect varchar, endpoint varchar, requested_model varchar,
              stream boolean, provider varchar, model varchar, attempts jsonb, status smallint, complete boolean, rescued boolean,
              latency_ms integer, ttft_ms integer, input_tokens bigint, output_tokens bigint, cached_input_tokens bigint,
              reasoning_tokens bigint, cost_nanousd bigint, error_class varchar, error_message varchar, request_body text,
              response_body text, bodies_truncated boolean)
            ON CONFLICT (id) DO NOTHING`.pipe(
              Effect.asVoid,
              Effect.catchIf(
                (error) => refusedCode(error) !== undefined,
                (error) => Effect.fail(new RowsRefused({ code: refusedCode(error)!, message: error.message })),
              ),
            )

      /** Deletes at most `limit` rows that started before `cutoff`; how many it deleted. */
      const deleteBefore = (cutoff: Date, limit: number = DELETE_BATCH_ROWS) =>
        sql<{ n: number }>`
        WITH gone AS (
          DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE started_at < ${cutoff} LIMIT ${limit}) RETURNING 1
        )
        SELECT count(*)::int AS n FROM gone`.pipe(Effect.map((rows) => rows[0]?.n ?? 0))

      /**
       * Up to `limit` rows matching `filter`, newest first (`started_at`, then `id`, descending:
       * the order of the indexes, read backwards). Tokens as float8 (they fit exactly), the cost
       * as text (a bigint).
       */
      const page = (filter: RequestLogFilter) => {
        const where = [
          filter.from === undefined ? undefined : sql`started_at >= ${filter.from}`,
          filter.to === undefined ? undefined : sql`started_at < ${filter.to}`,
          filter.userId === undefined ? undefined : sql`user_id = ${filter.userId}`,
          filter.apiKeyId === undefined ? undefined : sql`api_key_id = ${filter.apiKeyId}`,
          filter.model === undefined ? undefined : sql`(requested_model = ${filter.model} OR model = ${filter.model})`,
          filter.provider === undefined ? undefined : sql`provider = ${filter.provider}`,
          filter.status === undefined ? undefined : sql`status BETWEEN ${filter.status.min} AND ${filter.status.max}`,
          filter.errorClass === undefined ? undefined : sql`error_class = ${filter.errorClass}`,
          filter.before === undefined
            ? undefined
            : sql`(started_at, id) < (${filter.before.startedAt}::timestamptz, ${filter.before.id}::uuid)`,
        ].filter((clause) => clause !== undefined)
        return sql<RequestLogRow>`
        SELECT id, started_at, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at_us,
               request_id, user_id, api_key_id, dialect, endpoint, requested_model, stream, provider, model, attempts,
               status, complete, rescued, latency_ms, ttft_ms, input_tokens::float8 AS input_tokens,
               output_tokens::float8 AS output_tokens, cached_input_tokens::float8 AS cached_input_tokens,
               reasoning_tokens::float8 AS reasoning_tokens, cost_nanousd::text AS cost_nanousd, error_class, error_message,
               request_body, response_body, bodies_truncated
        FROM request_log
        WHERE ${sql.and(where)}
        ORDER BY started_at DESC, id DESC
        LIMIT ${filter.limit}`
      }

      return { insert, deleteBefore, page } as const
    }),
  },
) {}
