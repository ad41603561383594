import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { CURSOR_MAX_LENGTH } from "../../usage/RequestLogCursor.js"
import { modelIdProblem } from "../Generation.js"
import { AnyCredential, ProviderSlug } from "./CoreApi.js"
import { UsageTime } from "./UsageApi.js"

/** The request log (`request_log`, issue 15 item 1): one row per data-plane request of an authenticated caller. */

/** The most rows one page holds, and how many when `limit` is not given. */
export const LOGS_MAX_LIMIT = 500
export const LOGS_DEFAULT_LIMIT = 100

const Uuid = (what: string) => Schema.UUID.annotations({ message: () => `expected ${what} (a UUID)` })

/** An HTTP status (`429`) or a class of them (`5xx`). */
const StatusFilter = Schema.String.pipe(
  Schema.pattern(/^[1-5](\d\d|xx)$/i, {
    message: () => "expected an HTTP status (e.g. 429) or a class of them (1xx to 5xx)",
  }),
)

const Attempt = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  outcome: Schema.String.annotations({
    description:
      "ok; cut (a stream that broke after it started); http (see status); or the transport failure (connect, reset, first_token_timeout, idle_timeout, …)",
  }),
  status: Schema.NullOr(Schema.Number).annotations({ description: "the upstream's HTTP status, when it answered" }),
  ms: Schema.Number.annotations({
    description: "from the call's start to its answer (a stream: its first event) or failure",
  }),
})

export const LogRow = Schema.Struct({
  id: Schema.String.annotations({ description: "the row's own id" }),
  started_at: Schema.String.annotations({ description: "when the request arrived (ISO time)" }),
  request_id: Schema.String.annotations({ description: "x-request-id (the client's, or the one the gateway gave)" }),
  user_id: Schema.NullOr(Schema.String).annotations({ description: "null: the master key" }),
  api_key_id: Schema.NullOr(Schema.String).annotations({ description: "null: the master key" }),
  dialect: Schema.String.annotations({ description: "openai-chat, openai-responses, anthropic or gemini" }),
  endpoint: Schema.String.annotations({ description: "the route; a Gemini model in the path is *" }),
  requested_model: Schema.NullOr(Schema.String).annotations({
    description: "the model the client asked for (null: refused before it was read)",
  }),
  stream: Schema.Boolean,
  provider: Schema.NullOr(Schema.String).annotations({
    description: "the upstream that answered (a rescued stream: the first one)",
  }),
  model: Schema.NullOr(Schema.String).annotations({ description: "the upstream model that answered" }),
  attempts: Schema.Array(Attempt).annotations({
    description: "every upstream call, in order (a rescued stream's continuations included)",
  }),
  status: Schema.Number.annotations({
    description: "the status the client got (499: it left before the answer started)",
  }),
  complete: Schema.Boolean.annotations({ description: "the client got the whole answer" }),
  rescued: Schema.Boolean.annotations({ description: "a stream that broke was continued by another upstream" }),
  latency_ms: Schema.Number.annotations({ description: "arrival to the response's close (a stream's whole duration)" }),
  ttft_ms: Schema.NullOr(Schema.Number).annotations({
    description: "arrival to a stream's first event; null for JSON answers",
  }),
  input_tokens: Schema.NullOr(Schema.Number),
  output_tokens: Schema.NullOr(Schema.Number),
  cached_input_tokens: Schema.NullOr(Schema.Number),
  reasoning_tokens: Schema.NullOr(Schema.Number),
  cost_usd: Schema.NullOr(Schema.String).annotations({
    description:
      'what the answer cost in USD as an exact decimal string (e.g. "0.000123"); null when its model had no price or nothing was answered',
  }),
  error_class: Schema.NullOr(Schema.String).annotations({
    description: "what went wrong, by kind (ModelNotFound, UpstreamStatusError, StreamCut, …)",
  }),
  error_message: Schema.NullOr(Schema.String).annotations({
    description: "what the client was told, credentials redacted, at most 300 characters",
  }),
  request_body: Schema.optional(Schema.String).annotations({
    description: "only for keys with log_bodies: the request as sent, credentials redacted, at most 32 KiB",
  }),
  response_body: Schema.optional(Schema.String).annotations({
    description:
      "only for keys with log_bodies: the answer (a stream's assembled text, or its first 32 KiB), credentials redacted, at most 32 KiB",
  }),
  bodies_truncated: Schema.optional(Schema.Boolean).annotations({
    description:
      "for keys with log_bodies: a body was cut at 32 KiB (true without request_body and response_body: the bodies were not kept, the log's buffer holding too many already)",
  }),
})

export const LogsResponse = Schema.Struct({
  rows: Schema.Array(LogRow),
  next_cursor: Schema.NullOr(Schema.String).annotations({
    description: "pass as `cursor` for the next (older) page; null: this is the last",
  }),
})

export class LogsGroup extends HttpApiGroup.make("logs")
  .add(
    HttpApiEndpoint.get("list", "/logs")
      .setUrlParams(
        Schema.Struct({
          from: Schema.optional(UsageTime).annotations({ description: "ISO time the request started at or after" }),
          to: Schema.optional(UsageTime).annotations({ description: "ISO time the request started before" }),
          user_id: Schema.optional(Uuid("a user id")),
          api_key_id: Schema.optional(Uuid("an API key id")),
          model: Schema.optional(
            Schema.String.pipe(Schema.filter((model) => modelIdProblem(model) ?? true)).annotations({
              description: "the model asked for or the upstream model that served",
            }),
          ),
          provider: Schema.optional(ProviderSlug).annotations({ description: "the provider that served" }),
          status: Schema.optional(StatusFilter).annotations({
            description: "the status returned: exact (429) or a class (5xx)",
          }),
          error_class: Schema.optional(
            Schema.String.pipe(
              Schema.pattern(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, {
                message: () => "expected an error class (1 to 64 of A-Z a-z 0-9 _)",
              }),
            ),
          ),
          cursor: Schema.optional(
            Schema.String.pipe(
              Schema.maxLength(CURSOR_MAX_LENGTH, { message: () => "expected a next_cursor of a previous answer" }),
            ),
          ).annotations({ description: "next_cursor of the previous page" }),
          limit: Schema.optional(
            Schema.NumberFromString.pipe(
              Schema.int(),
              Schema.between(1, LOGS_MAX_LIMIT, {
                message: () => `expected a whole number from 1 to ${LOGS_MAX_LIMIT}`,
              }),
            ),
          ).annotations({ description: `rows per page (default ${LOGS_DEFAULT_LIMIT}, at most ${LOGS_MAX_LIMIT})` }),
        }),
      )
      .addSuccess(LogsResponse)
      .annotate(
        OpenApi.Description,
        "The request log, newest first, a page at a time: one row per data-plane request of an authenticated caller (every upstream attempt, status, tokens, cost, latency, error). Filters combine with AND. A user (and a user's key) sees the rows of their own keys; a superuser or the master key everyone's (or one user's with user_id). Walk the pages with next_cursor: each row comes once.",
      ),
  )
  .middleware(AnyCredential)
  .annotate(OpenApi.Title, "Request log") {}
