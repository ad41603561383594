import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { CurrentPrincipal } from "../../identity/Principal.js"
import type { RequestLogRow } from "../../storage/RequestLogRepository.js"
import { usdText } from "../../usage/Cost.js"
import { decodeCursor } from "../../usage/RequestLogCursor.js"
import { RequestLogReader } from "../../usage/RequestLogReader.js"
import { BadRequest, Forbidden } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { LOGS_DEFAULT_LIMIT } from "./LogsApi.js"
import { ManagementApi } from "./ManagementApi.js"
import { requireSelfOrSuperuser } from "./Security.js"

/** `429` → 429 to 429; `4xx` → 400 to 499. */
const statusRange = (status: string): { readonly min: number; readonly max: number } => {
  if (!/x/i.test(status)) return { min: Number(status), max: Number(status) }
  const min = Number(status[0]) * 100
  return { min, max: min + 99 }
}

const text = (value: unknown): string => (typeof value === "string" ? value : "")
const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0)

/** The stored attempts (a JSON array the writer made), each with exactly the fields the API documents. */
const attemptsOf = (stored: unknown) =>
  (Array.isArray(stored) ? (stored as Array<Record<string, unknown> | null>) : []).map((attempt) => ({
    provider: text(attempt?.provider),
    model: text(attempt?.model),
    outcome: text(attempt?.outcome),
    status: typeof attempt?.status === "number" ? attempt.status : null,
    ms: count(attempt?.ms),
  }))

/**
 * A stored row as `GET /logs` shows it: the cost in USD; the bodies only when they were stored
 * (`bodies_truncated` alone: a key that keeps bodies, whose bodies could not be kept).
 */
const shown = (row: RequestLogRow) => ({
  id: row.id,
  started_at: row.started_at.toISOString(),
  request_id: row.request_id,
  user_id: row.user_id,
  api_key_id: row.api_key_id,
  dialect: row.dialect,
  endpoint: row.endpoint,
  requested_model: row.requested_model,
  stream: row.stream,
  provider: row.provider,
  model: row.model,
  attempts: attemptsOf(row.attempts),
  status: row.status,
  complete: row.complete,
  rescued: row.rescued,
  latency_ms: row.latency_ms,
  ttft_ms: row.ttft_ms,
  input_tokens: row.input_tokens,
  output_tokens: row.output_tokens,
  cached_input_tokens: row.cached_input_tokens,
  reasoning_tokens: row.reasoning_tokens,
  cost_usd: row.cost_nanousd === null ? null : usdText(BigInt(row.cost_nanousd)),
  error_class: row.error_class,
  error_message: row.error_message,
  ...(row.request_body === null && row.response_body === null && !row.bodies_truncated
    ? {}
    : {
        ...(row.request_body === null ? {} : { request_body: row.request_body }),
        ...(row.response_body === null ? {} : { response_body: row.response_body }),
        bodies_truncated: row.bodies_truncated,
      }),
})

export const LogsHandlers = HttpApiBuilder.group(ManagementApi, "logs", (handlers) =>
  Effect.gen(function* () {
    const reader = yield* RequestLogReader
    return handlers.handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const principal = yield* CurrentPrincipal
        // A user (and a user's key) sees only the rows of their own keys; a superuser everyone's.
        if (urlParams.user_id !== undefined) yield* requireSelfOrSuperuser(principal, urlParams.user_id)
        const userId = principal.isSuperuser ? urlParams.user_id : principal.userId
        if (userId === null) return yield* new Forbidden({ message: "This credential has no request log" })
        if (
          urlParams.from !== undefined &&
          urlParams.to !== undefined &&
          urlParams.from.getTime() >= urlParams.to.getTime()
        ) {
          return yield* new BadRequest({ message: "'from' must be before 'to'" })
        }
        const before = urlParams.cursor === undefined ? undefined : decodeCursor(urlParams.cursor)
        if (urlParams.cursor !== undefined && before === undefined) {
          return yield* new BadRequest({ message: "cursor: expected the next_cursor of a previous answer" })
        }
        const page = yield* reader.page({
          from: urlParams.from,
          to: urlParams.to,
          userId,
          apiKeyId: urlParams.api_key_id,
          model: urlParams.model,
          provider: urlParams.provider,
          status: urlParams.status === undefined ? undefined : statusRange(urlParams.status),
          errorClass: urlParams.error_class,
          before,
          limit: urlParams.limit ?? LOGS_DEFAULT_LIMIT,
        })
        return { rows: page.rows.map(shown), next_cursor: page.nextCursor }
      }).pipe(managed),
    )
  }),
)
