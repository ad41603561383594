import { Effect } from "effect"
import { type RequestLogFilter, RequestLogRepository, type RequestLogRow } from "../storage/RequestLogRepository.js"
import { encodeCursor } from "./RequestLogCursor.js"
import { RequestLogWriter } from "./RequestLogWriter.js"

/** One page of the request log, newest first, and where the next one starts (`null`: this was the last). */
export interface RequestLogPage {
  readonly rows: ReadonlyArray<RequestLogRow>
  readonly nextCursor: string | null
}

/**
 * Reads the request log a page at a time (`GET /logs`). What this instance's writer still holds
 * is written first, so a request that has just finished here is in the answer (rows another
 * instance holds are written within its flush interval).
 */
export class RequestLogReader extends Effect.Service<RequestLogReader>()("gateway/usage/RequestLogReader", {
  effect: Effect.gen(function* () {
    const writer = yield* RequestLogWriter
    const repository = yield* RequestLogRepository

    /** Up to `filter.limit` rows after `filter.before`; a next cursor when more rows match. */
    const page = Effect.fn("RequestLogReader.page")(function* (filter: RequestLogFilter) {
      yield* writer.flush
      // One row more than asked says whether there is a next page.
      const rows = yield* repository.page({ ...filter, limit: filter.limit + 1 })
      if (rows.length <= filter.limit) return { rows, nextCursor: null } satisfies RequestLogPage
      const shown = rows.slice(0, filter.limit)
      const last = shown[shown.length - 1]!
      return {
        rows: shown,
        nextCursor: encodeCursor({ startedAt: last.started_at_us, id: last.id }),
      } satisfies RequestLogPage
    })

    return { page } as const
  }),
  dependencies: [RequestLogRepository.Default],
}) {}
