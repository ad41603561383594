import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** Rows per INSERT (Postgres takes at most 65 535 parameters per statement). */
const ROWS_PER_STATEMENT = 1_000

/** One caller's use of one upstream in one minute: a row of `usage_minutes`. */
export interface UsageMinuteRow {
  readonly minute: Date
  /** The API key (`key:<id>`) or `master`: the row's identity with minute and upstream. */
  readonly caller: string
  readonly apiKeyId: string | null
  readonly userId: string | null
  readonly provider: string
  readonly model: string
  readonly requests: number
  readonly incomplete: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  /** What the priced answers cost, in nano-dollars (1e-9 USD). */
  readonly costNanoUsd: number
  /** Answers whose model had no price. */
  readonly unpriced: number
}

/** The counts of a usage summary row (and of its totals), named as `GET /usage` answers them. */
export interface UsageCounts {
  readonly requests: number
  readonly incomplete: number
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cached_input_tokens: number
  /** Nano-dollars as a decimal integer string: a sum can pass what a JavaScript number holds exactly. */
  readonly cost_nanousd: string
  readonly unpriced: number
}

/** One caller's use of one upstream over a period, in `GET /usage`'s shape. */
export interface UsageSummaryRow extends UsageCounts {
  readonly api_key_id: string | null
  readonly user_id: string | null
  readonly provider: string
  readonly model: string
  /** The UTC day (`YYYY-MM-DD`) when summarized by day. */
  readonly day?: string
  /** The UTC hour's start (`YYYY-MM-DDTHH:00:00.000Z`) when summarized by hour. */
  readonly hour?: string
}

/** The time buckets a usage summary may be split into, besides caller and upstream. */
export type UsageBucket = "day" | "hour"

/** SQL for `usage_minutes`. Batching and retrying belong to `usage/UsageLedger`. */
export class UsageRepository extends Effect.Service<UsageRepository>()("gateway/storage/UsageRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /**
     * Adds `rows` to what is stored, in one transaction: an existing row of the same minute,
     * caller and upstream is incremented, so instances writing the same minute add up.
     */
    const addMinutes = (rows: ReadonlyArray<UsageMinuteRow>) =>
      Effect.forEach(
        Array.from({ length: Math.ceil(rows.length / ROWS_PER_STATEMENT) }, (_, i) =>
          rows.slice(i * ROWS_PER_STATEMENT, (i + 1) * ROWS_PER_STATEMENT),
        ),
        (chunk) => sql`
          INSERT INTO usage_minutes ${sql.insert(
            chunk.map((r) => ({
              minute: r.minute,
              caller: r.caller,
              api_key_id: r.apiKeyId,
              user_id: r.userId,
              provider: r.provider,
              model: r.model,
              requests: r.requests,
              incomplete: r.incomplete,
              input_tokens: r.inputTokens,
              output_tokens: r.outputTokens,
              cached_input_tokens: r.cachedInputTokens,
              cost_nanousd: r.costNanoUsd,
              unpriced: r.unpriced,
            })),
          )}
          ON CONFLICT (minute, caller, provider, model) DO UPDATE SET
            requests = usage_minutes.requests + EXCLUDED.requests,
            incomplete = usage_minutes.incomplete + EXCLUDED.incomplete,
            input_tokens = usage_minutes.input_tokens + EXCLUDED.input_tokens,
            output_tokens = usage_minutes.output_tokens + EXCLUDED.output_tokens,
            cached_input_tokens = usage_minutes.cached_input_tokens + EXCLUDED.cached_input_tokens,
            cost_nanousd = usage_minutes.cost_nanousd + EXCLUDED.cost_nanousd,
            unpriced = usage_minutes.unpriced + EXCLUDED.unpriced`,
        { discard: true },
      ).pipe(sql.withTransaction)

    /** Deletes the minutes before `cutoff`. */
    const deleteBefore = (cutoff: Date) => sql`DELETE FROM usage_minutes WHERE minute < ${cutoff}`.pipe(Effect.asVoid)

    /**
     * Usage between `from` (inclusive) and `to` (exclusive), per caller and upstream (and UTC day
     * or hour when `bucket`), optionally of one user.
     */
    const summarize = (query: {
      readonly from: Date
      readonly to: Date
      readonly userId?: string | undefined
      readonly bucket?: UsageBucket | undefined
    }) => {
      // Constant SQL (no parameter): GROUP BY must repeat the very expression the SELECT shows.
      const day =
        query.bucket === "day"
          ? sql`to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
          : query.bucket === "hour"
            ? sql`to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":00:00.000Z"')`
            : undefined
      return sql<UsageSummaryRow>`
        SELECT api_key_id, user_id, provider, model, ${day === undefined ? sql`` : sql`${day} AS ${sql(query.bucket!)},`}
               SUM(requests)::float8 AS requests, SUM(incomplete)::float8 AS incomplete,
               SUM(input_tokens)::float8 AS input_tokens, SUM(output_tokens)::float8 AS output_tokens,
               SUM(cached_input_tokens)::float8 AS cached_input_tokens,
               SUM(cost_nanousd)::text AS cost_nanousd, SUM(unpriced)::float8 AS unpriced
        FROM usage_minutes
        WHERE minute >= ${query.from} AND minute < ${query.to}
          ${query.userId === undefined ? sql`` : sql`AND user_id = ${query.userId}`}
        GROUP BY ${day === undefined ? sql`` : sql`${day},`} caller, api_key_id, user_id, provider, model
        ORDER BY ${day === undefined ? sql`` : sql`${day},`} caller, provider, model`
    }

    /**
     * What an API key's or a user's priced answers cost from `since` on, in nano-dollars: a
     * budget's spend in its period (usage/Budgets seeds its counter with it).
     */
    const spentSince = (owner: { readonly apiKeyId: string } | { readonly userId: string }, since: Date) =>
      sql<{ readonly spent: string }>`
        SELECT COALESCE(SUM(cost_nanousd), 0)::text AS spent FROM usage_minutes
        WHERE ${"apiKeyId" in owner ? sql`api_key_id = ${owner.apiKeyId}` : sql`user_id = ${owner.userId}`} AND minute >= ${since}`.pipe(
        Effect.map((rows) => Number(rows[0]?.spent ?? 0)),
      )

    return { addMinutes, deleteBefore, summarize, spentSince } as const
  }),
}) {}
