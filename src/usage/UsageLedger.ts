import { Duration, Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { type UsageBucket, UsageRepository } from "../storage/UsageRepository.js"
import { addUsage, mergeTally, type UsageEntry, type UsageTally } from "./UsageTally.js"

/**
 * How often pending usage is written; what is pending is also written on shutdown and before a read.
 * It is also the most usage a process killed without warning (`kill -9`, a crash) can lose. The
 * cost is one batched upsert (one statement per 1 000 rows) every 2 s, a few milliseconds of the database's time.
 */
export const FLUSH_INTERVAL = Duration.seconds(2)
/** How often rows older than USAGE_RETENTION_DAYS are deleted. */
const PRUNE_INTERVAL = Duration.hours(1)
/** A database down for long must not grow the pending rows without bound. */
const MAX_PENDING_ROWS = 100_000

/**
 * Token usage per caller and upstream, kept in Postgres by the minute (docs/ARCHITECTURE.md,
 * State: written asynchronously, batched). `record` is a synchronous in-memory addition on the request path;
 * a background fiber writes what accumulated every FLUSH_INTERVAL as upserts, so concurrent
 * instances add up. A batch the database refuses goes back to be written with the next one.
 * Rows older than USAGE_RETENTION_DAYS are deleted hourly (by every instance: deleting twice is harmless).
 */
export class UsageLedger extends Effect.Service<UsageLedger>()("gateway/usage/UsageLedger", {
  scoped: Effect.gen(function* () {
    const repository = yield* UsageRepository
    const retentionDays = (yield* AppConfig).usageRetentionDays
    let pending: UsageTally = new Map()
    const flushing = yield* Effect.makeSemaphore(1)

    const record = (entry: UsageEntry): void => addUsage(pending, entry, Date.now())

    /** Writes what is pending. Never fails: a refused batch is kept for the next flush. */
    const flush: Effect.Effect<void> = flushing.withPermits(1)(
      Effect.suspend(() => {
        if (pending.size === 0) return Effect.void
        const batch = pending
        pending = new Map()
        return repository.addMinutes([...batch.values()]).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              mergeTally(batch, pending)
              const kept = batch.size <= MAX_PENDING_ROWS
              pending = kept ? batch : new Map()
              return kept
            }).pipe(
              Effect.flatMap((kept) =>
                Effect.logWarning(
                  kept
                    ? "usage not written yet; retrying with the next batch"
                    : "usage dropped: the database refused it for too long",
                ).pipe(Effect.annotateLogs({ rows: batch.size, reason: error.message })),
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
      repository
        .deleteBefore(new Date(now.getTime() - retentionDays * 86_400_000))
        .pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("old usage not pruned").pipe(Effect.annotateLogs({ reason: error.message })),
          ),
        )
    if (retentionDays > 0) {
      yield* Effect.sync(() => new Date()).pipe(
        Effect.flatMap(prune),
        Effect.zipLeft(Effect.sleep(PRUNE_INTERVAL)),
        Effect.forever,
        Effect.forkScoped,
      )
    }

    /** Usage between `from` (inclusive) and `to` (exclusive), per caller and upstream (and day or hour); this instance's pending usage first. */
    const summary = (query: {
      readonly from: Date
      readonly to: Date
      readonly userId?: string | undefined
      readonly bucket?: UsageBucket | undefined
    }) => Effect.zipRight(flush, repository.summarize(query))

    return { record, flush, summary, prune } as const
  }),
  dependencies: [UsageRepository.Default],
}) {}
