import { Duration, Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { RequestRecord } from "../shared/RequestRecord.js"
import {
  DELETE_BATCH_ROWS,
  RequestLogRepository,
  ROWS_PER_STATEMENT,
  type RowsRefused,
} from "../storage/RequestLogRepository.js"

/** How often buffered rows are written (sooner when a full statement's worth is waiting). */
export const FLUSH_INTERVAL = Duration.seconds(1)
/** One statement that takes longer is given up and its rows kept for the next try (a row is inserted once: ON CONFLICT). */
const STATEMENT_TIMEOUT = Duration.seconds(30)
/** At shutdown, how long what is buffered may take to be written. */
export const SHUTDOWN_FLUSH_TIMEOUT = Duration.seconds(5)
/** How often rows older than REQUEST_LOG_RETENTION_DAYS are deleted. */
const PRUNE_INTERVAL = Duration.hours(1)
/** Between two delete batches of one prune: the database serves requests in between. */
const PRUNE_PAUSE = Duration.millis(50)

const bodyChars = (row: RequestRecord): number => (row.requestBody?.length ?? 0) + (row.responseBody?.length ?? 0)

/** What the writer holds and has lost, for metrics (`apiproxy_request_log_dropped_total`). */
export interface RequestLogStats {
  /** Rows waiting in memory (a batch being written included). */
  readonly buffered: number
  /** Rows lost since start: the buffer was full (the database slow or away for long). */
  readonly dropped: number
  /** Rows written since start. */
  readonly written: number
  /** Rows whose bodies were not kept since start: the buffer held REQUEST_LOG_BUFFER_BODY_CHARS of bodies already. */
  readonly bodiesDropped: number
}

/**
 * The request log's writer (docs/ARCHITECTURE.md, State: written asynchronously, batched).
 * `record` is a synchronous append to a bounded in-memory buffer (REQUEST_LOG_BUFFER_ROWS) on
 * the request path; a background fiber writes it in batches every FLUSH_INTERVAL, or as soon as
 * a statement's worth is waiting. A database that is slow or away never blocks or fails a
 * request: a batch it refuses goes back to the front of the buffer for the next try, and rows
 * that do not fit are dropped and counted (`stats`). What is buffered is written at shutdown
 * (within SHUTDOWN_FLUSH_TIMEOUT). Rows older than REQUEST_LOG_RETENTION_DAYS are deleted hourly
 * in bounded batches (by every instance: deleting twice is harmless). REQUEST_LOG=off: `enabled`
 * is false, and nothing is recorded.
 */
export class RequestLogWriter extends Effect.Service<RequestLogWriter>()("gateway/usage/RequestLogWriter", {
  scoped: Effect.gen(function* () {
    const repository = yield* RequestLogRepository
    // bufferBodyChars (REQUEST_LOG_BUFFER_BODY_CHARS): the most characters of kept bodies (keys with
    // `log_bodies`, 64 Ki at most a row) the buffer holds, so that a database away for long does not
    // make bodies pile up in memory. Past it, new rows are still kept, without their bodies (marked
    // truncated, counted in `bodiesDropped`).
    const { enabled, bufferRows, bufferBodyChars, retentionDays } = (yield* AppConfig).requestLog
    let buffer: Array<RequestRecord> = []
    /** Rows taken out of the buffer and being written. */
    let inFlight = 0
    let dropped = 0
    let written = 0
    let bodiesDropped = 0
    /** Characters of bodies in the buffer and in the batch being written. */
    let heldBodyChars = 0
    /** The last write failed: the next success is logged once, as is the first failure. */
    let failing = false
    const flushing = yield* Effect.makeSemaphore(1)
    const wake = yield* Effect.makeLatch(false)

    const record = (row: RequestRecord): void => {
      if (!enabled) return
      if (buffer.length + inFlight >= bufferRows) {
        dropped++
        return
      }
      const chars = bodyChars(row)
      if (chars > 0 && heldBodyChars + chars > bufferBodyChars) {
        row.requestBody = null
        row.responseBody = null
        row.requestBodyTruncated = true
        bodiesDropped++
      } else heldBodyChars += chars
      buffer.push(row)
      if (buffer.length === ROWS_PER_STATEMENT) wake.unsafeOpen()
    }

    /** A batch that was not written goes back in front of what came since; what no longer fits is dropped. */
    const putBack = (batch: Array<RequestRecord>) => {
      const kept = batch.concat(buffer)
      if (kept.length > bufferRows) {
        dropped += kept.length - bufferRows
        for (const row of kept.splice(bufferRows)) heldBodyChars -= bodyChars(row)
      }
      buffer = kept
    }

    /**
     * Inserts `rows`; when the database refuses a row itself (RowsRefused: a value it cannot
     * take), the rows are split in halves until that row is alone, and it is dropped and counted,
     * so one bad row never holds back the others nor the log. Fails when the database is away.
     */
    const insertAll = (
      rows: ReadonlyArray<RequestRecord>,
    ): Effect.Effect<void, Exclude<Effect.Effect.Error<ReturnType<typeof repository.insert>>, RowsRefused>> =>
      Effect.catchTag(repository.insert(rows), "RowsRefused", (refused) => {
        if (rows.length > 1) {
          const half = Math.ceil(rows.length / 2)
          return Effect.zipRight(insertAll(rows.slice(0, half)), insertAll(rows.slice(half)))
        }
        dropped++
        return Effect.logError("request log row refused by the database; dropped").pipe(
          Effect.annotateLogs({ request_id: rows[0]!.requestId, code: refused.code, reason: refused.message }),
        )
      })

    /** Writes one batch; false (its rows put back) when the database is away. */
    const writeBatch = (batch: Array<RequestRecord>) => {
      const droppedBefore = dropped
      return insertAll(batch).pipe(
        Effect.timeoutFail({
          duration: STATEMENT_TIMEOUT,
          onTimeout: () => new Error(`no answer within ${Duration.format(STATEMENT_TIMEOUT)}`),
        }),
        Effect.matchEffect({
          onSuccess: () =>
            Effect.suspend(() => {
              inFlight = 0
              for (const row of batch) heldBodyChars -= bodyChars(row)
              written += batch.length - (dropped - droppedBefore)
              if (!failing) return Effect.succeed(true)
              failing = false
              return Effect.as(
                Effect.logInfo("request log written again").pipe(
                  Effect.annotateLogs({ buffered: buffer.length, dropped }),
                ),
                true,
              )
            }),
          onFailure: (error) =>
            Effect.suspend(() => {
              inFlight = 0
              putBack(batch)
              if (failing) return Effect.succeed(false)
              failing = true
              return Effect.as(
                Effect.logWarning("request log not written; rows kept in memory until the database answers").pipe(
                  Effect.annotateLogs({ buffered: buffer.length, capacity: bufferRows, reason: error.message }),
                ),
                false,
              )
            }),
        }),
      )
    }

    /** Writes what is buffered now, a statement at a time; stops at the first refusal. Never fails. */
    const flush: Effect.Effect<boolean> = flushing.withPermits(1)(
      Effect.suspend(() => {
        let batches = Math.ceil(buffer.length / ROWS_PER_STATEMENT)
        const next: Effect.Effect<boolean> = Effect.suspend(() => {
          if (batches-- <= 0 || buffer.length === 0) return Effect.succeed(true)
          const batch = buffer.splice(0, ROWS_PER_STATEMENT)
          inFlight = batch.length
          return Effect.flatMap(writeBatch(batch), (ok) => (ok ? next : Effect.succeed(false)))
        })
        return next
      }),
    )

    const cycle = wake.await.pipe(
      Effect.timeout(FLUSH_INTERVAL),
      Effect.ignore,
      Effect.zipRight(wake.close),
      Effect.zipRight(flush),
      // After a refusal, the next try waits a whole interval even if the buffer keeps filling.
      Effect.flatMap((ok) => (ok ? Effect.void : Effect.sleep(FLUSH_INTERVAL))),
    )
    if (enabled) {
      yield* Effect.forever(cycle).pipe(Effect.forkScoped)
      // Added after the fork: runs before the fiber is interrupted.
      yield* Effect.addFinalizer(() =>
        flush.pipe(
          Effect.timeout(SHUTDOWN_FLUSH_TIMEOUT),
          Effect.ignore,
          Effect.zipRight(
            Effect.suspend(() =>
              buffer.length === 0
                ? Effect.void
                : Effect.logWarning("request log rows lost at shutdown").pipe(
                    Effect.annotateLogs({ rows: buffer.length }),
                  ),
            ),
          ),
        ),
      )
    }

    /** Deletes the rows older than the retention period, `batchRows` at a time; how many. */
    const prune = (now: Date, batchRows: number = DELETE_BATCH_ROWS) => {
      const cutoff = new Date(now.getTime() - retentionDays * 86_400_000)
      const step = (deleted: number): Effect.Effect<number, unknown> =>
        Effect.flatMap(repository.deleteBefore(cutoff, batchRows), (n) =>
          n < batchRows ? Effect.succeed(deleted + n) : Effect.zipRight(Effect.sleep(PRUNE_PAUSE), step(deleted + n)),
        )
      return step(0).pipe(
        Effect.catchAll((error) =>
          Effect.as(
            Effect.logWarning("old request log rows not pruned").pipe(Effect.annotateLogs({ reason: String(error) })),
            0,
          ),
        ),
      )
    }
    if (enabled && retentionDays > 0) {
      yield* Effect.sync(() => new Date()).pipe(
        Effect.flatMap((now) => prune(now)),
        Effect.zipLeft(Effect.sleep(PRUNE_INTERVAL)),
        Effect.forever,
        Effect.forkScoped,
      )
    }

    const stats = (): RequestLogStats => ({ buffered: buffer.length + inFlight, dropped, written, bodiesDropped })

    return { enabled, record, flush: Effect.asVoid(flush), prune, stats } as const
  }),
  dependencies: [RequestLogRepository.Default],
}) {}
