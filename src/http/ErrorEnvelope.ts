import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

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
}

const openAiType = (status: number): string => {
  if (status === 400 || status === 404 || status === 405 || status === 413 || status === 422) return "invalid_request_error"
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 429) return "rate_limit_error"
  return "api_error"
}

const anthropicType = (status: number): string => {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 422:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return "api_error"
  }
}

const geminiStatus = (status: number): string => {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 422:
      return "INVALID_ARGUMENT"
    case 401:
      return "UNAUTHENTICATED"
    case 403:
      return "PERMISSION_DENIED"
    case 404:
      return "NOT_FOUND"
    case 429:
      return "RESOURCE_EXHAUSTED"
    case 503:
    case 529:
      return "UNAVAILABLE"
    case 504:
      return "DEADLINE_EXCEEDED"
    default:
      return "INTERNAL"
  }
}

export const apiError = (
  status: number,
  message: string,
  options: { type?: string; code?: string | null; param?: string | null; retryAfterMs?: number; details?: Record<string, unknown> } = {},
): ApiError => ({
  status,
  type: options.type ?? openAiType(status),
  code: options.code ?? null,
  message,
  param: options.param ?? null,
  retryAfterMs: options.retryAfterMs,
  details: options.details,
})

/** The JSON error body in the client's dialect (docs/ARCHITECTURE.md, Errors). */
export const errorBody = (dialect: ClientDialect, error: ApiError): unknown => {
  switch (dialect) {
    case "openai":
      return {
        error: {
          message: error.message,
          type: error.type,
          param: error.param ?? null,
          code: error.code,
          ...(error.details ? { details: error.details } : {}),
        },
      }
    case "anthropic":
      return { type: "error", error: { type: anthropicType(error.status), message: error.message } }
    case "gemini":
      return { error: { code: error.status, message: error.message, status: geminiStatus(error.status) } }
  }
}

/** `Retry-After` in whole seconds (at least 1). */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)))

/**
 * An error answer in the client's dialect — status, headers (`Retry-After` when known) and JSON
 * body: the one rendering both data-plane edges write (the Node generation edge and the routes).
 */
export const errorReply = (dialect: ClientDialect, error: ApiError) => ({
  status: error.status,
  headers: error.retryAfterMs === undefined ? {} : { "retry-after": retryAfterSeconds(error.retryAfterMs) },
  body: JSON.stringify(errorBody(dialect, error)),
})

export const errorResponse = (dialect: ClientDialect, error: ApiError) => {
  const reply = errorReply(dialect, error)
  return HttpServerResponse.text(reply.body, { status: reply.status, contentType: "application/json", headers: reply.headers })
}
