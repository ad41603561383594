import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { addUsage, mergeTally, type UsageEntry, type UsageRow, type UsageTally } from "./UsageTally.js"

/**
 * How often pending usage is written; what is pending is also written on shutdown and before a read.
 * It is also the most usage a process killed without warning (`kill -9`, a crash) can lose. The
 * cost is one batched upsert (one statement per 1 000 rows) every 2 s, a few milliseconds of the database's time.
 */
export const FLUSH_INTERVAL = Duration.seconds(2)
/** Rows per INSERT (Postgres takes at most 65 535 parameters per statement). */
const ROWS_PER_STATEMENT = 1_000
/** How often rows older than USAGE_RETENTION_DAYS are deleted. */
const PRUNE_INTERVAL = Duration.hours(1)
/** A database down for long must not grow the pending rows without bound. */
const MAX_PENDING_ROWS = 100_000

/** The counts of a usage summary row (and of its totals), named as `GET /usage` answers them. */
export interface UsageCounts {
  readonly requests: number
  readonly incomplete: number
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cached_input_tokens: number
}

/** One caller's use of one upstream over a period, in `GET /usage`'s shape. */
export interface UsageSummaryRow extends UsageCounts {
  readonly api_key_id: string | null
  readonly user_id: string | null
  readonly provider: string
  readonly model: string
}

/**
 * Token usage per caller and upstream, kept in Postgres by the minute (ARCHITECTURE §4: written
 * asynchronously, batched). `record` is a synchronous in-memory addition on the request path;
 * a background fiber writes what accumulated every FLUSH_INTERVAL as upserts, so concurrent
 * instances add up. A batch the database refuses goes back to be written with the next one.
 * Rows older than USAGE_RETENTION_DAYS are deleted hourly (by every instance: deleting twice is harmless).
 */
export class UsageLedger extends Effect.Service<UsageLedger>()("gateway/usage/UsageLedger", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const retentionDays = (yield* AppConfig).usageRetentionDays
    let pending: UsageTally = new Map()
    const flushing = yield* Effect.makeSemaphore(1)

    const record = (entry: UsageEntry): void => addUsage(pending, entry, Date.now())

    const write = (rows: ReadonlyArray<UsageRow>) =>
      Effect.forEach(
        Array.from({ length: Math.ceil(rows.length / ROWS_PER_STATEMENT) }, (_, i) => rows.slice(i * ROWS_PER_STATEMENT, (i + 1) * ROWS_PER_STATEMENT)),
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
            })),
          )}
          ON CONFLICT (minute, caller, provider, model) DO UPDATE SET
            requests = usage_minutes.requests + EXCLUDED.requests,
            incomplete = usage_minutes.incomplete + EXCLUDED.incomplete,
            input_tokens = usage_minutes.input_tokens + EXCLUDED.input_tokens,
            output_tokens = usage_minutes.output_tokens + EXCLUDED.output_tokens,
            cached_input_tokens = usage_minutes.cached_input_tokens + EXCLUDED.cached_input_tokens`,
        { discard: true },
      ).pipe(sql.withTransaction)

    /** Writes what is pending. Never fails: a refused batch is kept for the next flush. */
    const flush: Effect.Effect<void> = flushing.withPermits(1)(
      Effect.suspend(() => {
        if (pending.size === 0) return Effect.void
        const batch = pending
        pending = new Map()
        return write([...batch.values()]).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              mergeTally(batch, pending)
              const kept = batch.size <= MAX_PENDING_ROWS
              pending = kept ? batch : new Map()
              return kept
            }).pipe(
              Effect.flatMap((kept) =>
                Effect.logWarning(kept ? "usage not written yet; retrying with the next batch" : "usage dropped: the database refused it for too long").pipe(
                  Effect.annotateLogs({ rows: batch.size, reason: error.message }),
                ),
              ),
            ),
          ),
        )
      }),
    )

    yield* Effect.sleep(FLUSH_INTERVAL).pipe(Effect.zipRight(flush), Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeout(Duration.seconds(2)), Effect.ignore))

    /** Deletes rows older than the retention period. */
    const prune = (now: Date) =>
      sql`DELETE FROM usage_minutes WHERE minute < ${new Date(now.getTime() - retentionDays * 86_400_000)}`.pipe(
        Effect.asVoid,
        Effect.catchAll((error) => Effect.logWarning("old usage not pruned").pipe(Effect.annotateLogs({ reason: error.message }))),
      )
    if (retentionDays > 0) {
      yield* Effect.sync(() => new Date()).pipe(Effect.flatMap(prune), Effect.zipLeft(Effect.sleep(PRUNE_INTERVAL)), Effect.forever, Effect.forkScoped)
    }

    /** Usage between `from` (inclusive) and `to` (exclusive), per caller and upstream; this instance's pending usage first. */
    const summary = (query: { readonly from: Date; readonly to: Date; readonly userId?: string | undefined }) =>
      Effect.zipRight(
        flush,
        sql<UsageSummaryRow>`
          SELECT api_key_id, user_id, provider, model,
                 SUM(requests)::float8 AS requests, SUM(incomplete)::float8 AS incomplete,
                 SUM(input_tokens)::float8 AS input_tokens, SUM(output_tokens)::float8 AS output_tokens,
                 SUM(cached_input_tokens)::float8 AS cached_input_tokens
          FROM usage_minutes
          WHERE minute >= ${query.from} AND minute < ${query.to}
            ${query.userId === undefined ? sql`` : sql`AND user_id = ${query.userId}`}
          GROUP BY caller, api_key_id, user_id, provider, model
          ORDER BY caller, provider, model`,
      )

    return { record, flush, summary, prune } as const
  }),
}) {}
