/**
 * Error bodies in each client dialect, and the reverse: an upstream error body → ErrorInfo.
 * In-band stream error frames are produced by each dialect's StreamEncoder.error().
 */
import type { Dialect, ErrorInfo, ErrorKind } from "./Canonical.js"
import { asObject, isObject, type JsonObject, num, str } from "./Json.js"

export const kindFromStatus = (status: number): ErrorKind => {
  if (status === 400 || status === 422) return "invalid_request"
  if (status === 401) return "authentication"
  if (status === 403) return "permission"
  if (status === 404) return "not_found"
  if (status === 413) return "request_too_large"
  if (status === 429) return "rate_limit"
  if (status === 503 || status === 529) return "overloaded"
  if (status === 408 || status === 504) return "timeout"
  if (status >= 400 && status < 500) return "invalid_request"
  return "server"
}

export const statusOfKind = (kind: ErrorKind): number => {
  switch (kind) {
    case "invalid_request":
      return 400
    case "authentication":
      return 401
    case "permission":
      return 403
    case "not_found":
      return 404
    case "request_too_large":
      return 413
    case "rate_limit":
      return 429
    case "overloaded":
      return 503
    case "timeout":
      return 504
    case "server":
      return 500
  }
}

export const makeError = (kind: ErrorKind, message: string, extra?: Partial<ErrorInfo>): ErrorInfo => ({
  kind,
  message,
  status: extra?.status ?? statusOfKind(kind),
  ...(extra?.code !== undefined ? { code: extra.code } : {}),
  ...(extra?.param !== undefined ? { param: extra.param } : {}),
})

const OPENAI_TYPE: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  request_too_large: "invalid_request_error",
  rate_limit: "rate_limit_error",
  overloaded: "server_error",
  timeout: "timeout_error",
  server: "server_error",
}

const ANTHROPIC_TYPE: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  request_too_large: "request_too_large",
  rate_limit: "rate_limit_error",
  overloaded: "overloaded_error",
  timeout: "timeout_error",
  server: "api_error",
}

const GEMINI_STATUS: Record<ErrorKind, string> = {
  invalid_request: "INVALID_ARGUMENT",
  authentication: "UNAUTHENTICATED",
  permission: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  request_too_large: "INVALID_ARGUMENT",
  rate_limit: "RESOURCE_EXHAUSTED",
  overloaded: "UNAVAILABLE",
  timeout: "DEADLINE_EXCEEDED",
  server: "INTERNAL",
}

/** `{"error":{"message","type","param","code"}}` */
export const openAiErrorBody = (e: ErrorInfo): JsonObject => ({
  error: { message: e.message, type: OPENAI_TYPE[e.kind], param: e.param ?? null, code: e.code ?? null },
})

/** `{"type":"error","error":{"type","message"}}` */
export const anthropicErrorBody = (e: ErrorInfo): JsonObject => ({
  type: "error",
  error: { type: ANTHROPIC_TYPE[e.kind], message: e.message },
})

/** `{"error":{"code","message","status"}}` */
export const geminiErrorBody = (e: ErrorInfo): JsonObject => ({
  error: { code: e.status, message: e.message, status: GEMINI_STATUS[e.kind] },
})

/** The HTTP error body for a client speaking `dialect` (Responses uses the OpenAI shape). */
export const errorBody = (dialect: Dialect, e: ErrorInfo): JsonObject => {
  switch (dialect) {
    case "openai-chat":
    case "openai-responses":
      return openAiErrorBody(e)
    case "anthropic":
      return anthropicErrorBody(e)
    case "gemini":
      return geminiErrorBody(e)
  }
}

const kindFromName = (name: string | undefined): ErrorKind | undefined => {
  if (name === undefined) return undefined
  const n = name.toLowerCase()
  if (n.includes("overloaded") || n === "unavailable") return "overloaded"
  if (n.includes("rate_limit") || n === "resource_exhausted" || n === "insufficient_quota") return "rate_limit"
  if (n.includes("authentication") || n === "unauthenticated" || n === "invalid_api_key") return "authentication"
  if (n.includes("permission")) return "permission"
  if (n.includes("not_found")) return "not_found"
  if (n.includes("too_large")) return "request_too_large"
  if (n.includes("timeout") || n === "deadline_exceeded") return "timeout"
  if (n.includes("invalid") || n === "failed_precondition" || n === "out_of_range") return "invalid_request"
  if (n.includes("server") || n === "api_error" || n === "internal") return "server"
  return undefined
}

/**
 * Reads an upstream error body of any dialect (they are distinguishable by shape).
 * `status` is the upstream HTTP status (or 0 for an in-band stream error).
 */
export const decodeErrorBody = (status: number, body: unknown, fallbackMessage = "Upstream error"): ErrorInfo => {
  const o = asObject(body)
  const err = isObject(o.error) ? o.error : undefined
  const message =
    str(err?.message) ?? str(o.message) ?? (typeof body === "string" && body !== "" ? body : fallbackMessage)
  const name = str(err?.type) ?? str(err?.status) ?? (typeof err?.code === "string" ? err.code : undefined)
  const inbandStatus = num(err?.code)
  const effectiveStatus = status > 0 ? status : (inbandStatus ?? 0)
  const kind = kindFromName(name) ?? (effectiveStatus > 0 ? kindFromStatus(effectiveStatus) : "server")
  const code = typeof err?.code === "string" ? err.code : undefined
  const param = str(err?.param)
  return {
    kind,
    message,
    status: effectiveStatus > 0 ? effectiveStatus : statusOfKind(kind),
    ...(code !== undefined ? { code } : {}),
    ...(param !== undefined ? { param } : {}),
  }
}

/** A request body that failed to decode → the 400 the client gets. */
export const protocolErrorInfo = (e: { readonly message: string; readonly param?: string | undefined }): ErrorInfo => ({
  kind: "invalid_request",
  message: e.message,
  status: 400,
  ...(e.param !== undefined ? { param: e.param } : {}),
})
