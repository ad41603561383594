import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { FailedAttempt } from "../shared/UpstreamFailure.js"

/** The dialect a client speaks, which decides the shape of every error it sees. */
export type ClientDialect = "openai" | "anthropic" | "gemini"

/** An error as the HTTP edge sees it: status, machine-readable type/code, human message. */
export interface ApiError {
  readonly status: number
  readonly type: string
  readonly code: string | null
  readonly message: string
  readonly param?: string | null
  readonly retryAfterMs?: number | undefined
  readonly details?: Record<string, unknown> | undefined
  /**
   * What went wrong when the status alone does not say it (`BUDGET_EXCEEDED`): Anthropic's error
   * type (in lower case) instead of the status's, and a Gemini `ErrorInfo` detail's reason.
   */
  readonly reason?: string | undefined
  /** `false`: retrying soon cannot help (`x-should-retry: false`, which the OpenAI and Anthropic SDKs honour). */
  readonly retryable?: false | undefined
  /** Every failed upstream call of a request whose candidates all failed (`details.attempts` in each dialect). */
  readonly attempts?: ReadonlyArray<FailedAttempt> | undefined
}

/** A dialect's name for an error status, from its table; any status not in it gets `fallback`. */
const statusName =
  (names: { readonly [status: number]: string }, fallback: string) =>
  (status: number): string =>
    names[status] ?? fallback

const INVALID = "invalid_request_error"

const openAiType = statusName(
  {
    400: INVALID,
    404: INVALID,
    405: INVALID,
    413: INVALID,
    422: INVALID,
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
  },
  "api_error",
)

const anthropicType = statusName(
  {
    400: INVALID,
    405: INVALID,
    413: INVALID,
    422: INVALID,
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
  },
  "api_error",
)

const geminiStatus = statusName(
  {
    400: "INVALID_ARGUMENT",
    405: "INVALID_ARGUMENT",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
  },
  "INTERNAL",
)

export const apiError = (
  status: number,
  message: string,
  options: {
    type?: string
    code?: string | null
    param?: string | null
    retryAfterMs?: number
    details?: Record<string, unknown>
    reason?: string
    retryable?: false
    attempts?: ReadonlyArray<FailedAttempt> | undefined
  } = {},
): ApiError => ({
  status,
  type: options.type ?? openAiType(status),
  code: options.code ?? null,
  message,
  param: options.param ?? null,
  retryAfterMs: options.retryAfterMs,
  details: options.details,
  reason: options.reason,
  retryable: options.retryable,
  attempts: options.attempts,
})

/** A Gemini (google.rpc) `ErrorInfo` detail: the reason, and the details as string metadata. */
const errorInfo = (reason: string, details: Record<string, unknown> | undefined) => {
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(details ?? {}))
    if (value !== null && value !== undefined) metadata[name] = String(value)
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "apiproxy", metadata }
}

/** The type URL of the Gemini detail that lists a failed request's upstream attempts (not a google.rpc type). */
export const ATTEMPTS_DETAIL_TYPE = "type.googleapis.com/apiproxy.UpstreamAttempts"

/** The Gemini `details` array: the reason's `ErrorInfo`, and the attempts of a request whose candidates all failed. */
const geminiDetails = (error: ApiError): Array<unknown> | undefined => {
  if (error.reason === undefined && error.attempts === undefined) return undefined
  const details: Array<unknown> = []
  if (error.reason !== undefined) details.push(errorInfo(error.reason, error.details))
  if (error.attempts !== undefined) details.push({ "@type": ATTEMPTS_DETAIL_TYPE, attempts: error.attempts })
  return details
}

/** The JSON error body in the client's dialect (docs/ARCHITECTURE.md, Errors). */
export const errorBody = (dialect: ClientDialect, error: ApiError): unknown => {
  const { attempts } = error
  switch (dialect) {
    case "openai": {
      const details = attempts === undefined ? error.details : { ...error.details, attempts }
      return {
        error: {
          message: error.message,
          type: error.type,
          param: error.param ?? null,
          code: error.code,
          ...(details ? { details } : {}),
        },
      }
    }
    case "anthropic": {
      const type = error.reason?.toLowerCase() ?? anthropicType(error.status)
      return {
        type: "error",
        error:
          attempts === undefined
            ? { type, message: error.message }
            : { type, message: error.message, details: { attempts } },
      }
    }
    case "gemini": {
      const details = geminiDetails(error)
      return {
        error: {
          code: error.status,
          message: error.message,
          status: geminiStatus(error.status),
          ...(details === undefined ? {} : { details }),
        },
      }
    }
  }
}

/** `Retry-After` in whole seconds (at least 1). */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)))

/**
 * An error answer in the client's dialect — status, headers (`Retry-After` when known,
 * `x-should-retry: false` when retrying cannot help) and JSON
 * body: the one rendering both data-plane edges write (the Node generation edge and the routes).
 */
export const errorReply = (dialect: ClientDialect, error: ApiError) => ({
  status: error.status,
  headers: {
    ...(error.retryAfterMs === undefined ? {} : { "retry-after": retryAfterSeconds(error.retryAfterMs) }),
    ...(error.retryable === false ? { "x-should-retry": "false" } : {}),
  },
  body: JSON.stringify(errorBody(dialect, error)),
})

export const errorResponse = (dialect: ClientDialect, error: ApiError) => {
  const reply = errorReply(dialect, error)
  return HttpServerResponse.text(reply.body, {
    status: reply.status,
    contentType: "application/json",
    headers: reply.headers,
  })
}
