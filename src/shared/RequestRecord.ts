import { type BodyCapture, loggedBody, makeBodyCapture } from "./LoggedBody.js"
import { redactText } from "./Redaction.js"

/**
 * The request log's record of one client request (docs/ARCHITECTURE.md, "Request log"): a plain
 * object created at the edge when a caller is known, filled by mutation where the pipeline learns
 * each fact, and handed to `usage/RequestLogWriter` when the response closes. It lives in
 * `shared/` because the edge (`http/`) creates it, the pipeline (`gateway/`) fills it, the writer
 * (`usage/`) buffers it and `storage/` inserts it, and none of them may import the others.
 *
 * Never a credential: error messages pass through `redactText` and are cut to `ERROR_MESSAGE_MAX`
 * characters. No prompt or completion text, unless the caller's API key keeps bodies
 * (`log_bodies`): then the request and the answer, redacted and capped (shared/LoggedBody).
 */
export interface RequestRecord {
  /** The row's own id (the client's `x-request-id` may repeat). */
  readonly id: string
  /** When the request arrived, epoch milliseconds. */
  readonly startedAt: number
  readonly requestId: string
  /** The client's dialect (`openai-chat`, `openai-responses`, `anthropic`, `gemini`). */
  readonly dialect: string
  /** The route, without query and with a Gemini model replaced by `*` (`/v1beta/models/*:generateContent`). */
  readonly endpoint: string
  /** The caller was authenticated: only such requests are logged (an unauthenticated flood fills no table). */
  authenticated: boolean
  userId: string | null
  apiKeyId: string | null
  /** The model the client asked for, once the body was read and the id found valid. */
  requestedModel: string | null
  stream: boolean
  /** The upstream that served the answer (the first one of a rescued stream, as in `x-apiproxy-provider`). */
  provider: string | null
  model: string | null
  /** Every upstream call, in order; continuations of a rescued stream included. */
  readonly attempts: Array<AttemptEntry>
  /** The status the client got (499: it left before the answer started). */
  status: number
  /** The client got the whole answer (a JSON answer, or a stream that ended cleanly). */
  complete: boolean
  /** A stream that broke after commit was continued by another upstream (MidStreamRescue). */
  rescued: boolean
  /** Arrival to the response's close (a stream's whole duration). */
  latencyMs: number
  /** Arrival to the stream's commit (its first meaningful event); null for JSON answers. */
  ttftMs: number | null
  inputTokens: number | null
  outputTokens: number | null
  cachedInputTokens: number | null
  reasoningTokens: number | null
  /**
   * What the answer cost in nano-dollars (usage/Cost), its parts summed (a rescued stream's
   * continuations); null when no part had a price. Failed attempts cost nothing.
   */
  costNanoUsd: number | null
  /** What went wrong, by kind (an error's tag, `StreamCut`, `ClientDisconnected`, `Shutdown`). */
  errorClass: string | null
  errorMessage: string | null
  /** The caller's API key keeps bodies (`log_bodies`); the other body fields stay empty otherwise. */
  logBodies: boolean
  /** The request as the client sent it, as the log keeps it. */
  requestBody: string | null
  requestBodyTruncated: boolean
  /** The answer the client got (a stream's assembled text, or the first of what it was sent), as the log keeps it. */
  responseBody: string | null
  responseBodyTruncated: boolean
  /** While a stream or relayed answer is written: the first of what the client was sent. Dropped when the record closes. */
  answerCapture: BodyCapture | undefined
}

/** One upstream call of a request. */
export interface AttemptEntry {
  readonly provider: string
  readonly model: string
  /**
   * `ok` (answered; a stream committed), `cut` (committed, then broke), or why the call failed:
   * `http` (with `status`), or the transport failure's reason (`connect`, `reset`,
   * `first_token_timeout`, `headers_timeout`, `idle_timeout`, `malformed`, `truncated`, …).
   */
  outcome: string
  /** The upstream's HTTP status, when it answered with one. */
  readonly status: number | null
  /** From the call's start to its answer (a stream: to its commit), or to its failure. */
  readonly ms: number
}

/** The longest error message kept. */
export const ERROR_MESSAGE_MAX = 300

/** A new record: nothing known yet but when, which route and who asked. */
export const newRequestRecord = (
  id: string,
  requestId: string,
  dialect: string,
  endpoint: string,
  startedAt: number,
): RequestRecord => ({
  id,
  startedAt,
  requestId,
  dialect,
  endpoint,
  authenticated: false,
  userId: null,
  apiKeyId: null,
  requestedModel: null,
  stream: false,
  provider: null,
  model: null,
  attempts: [],
  status: 0,
  complete: false,
  rescued: false,
  latencyMs: 0,
  ttftMs: null,
  inputTokens: null,
  outputTokens: null,
  cachedInputTokens: null,
  reasoningTokens: null,
  costNanoUsd: null,
  errorClass: null,
  errorMessage: null,
  logBodies: false,
  requestBody: null,
  requestBodyTruncated: false,
  responseBody: null,
  responseBodyTruncated: false,
  answerCapture: undefined,
})

/** The caller, once authenticated. */
export const setCaller = (
  record: RequestRecord | undefined,
  caller: {
    readonly userId: string | null
    readonly apiKeyId: string | null
    readonly logBodies?: boolean | undefined
  },
): void => {
  if (record === undefined) return
  record.authenticated = true
  record.userId = caller.userId
  record.apiKeyId = caller.apiKeyId
  record.logBodies = caller.logBodies === true
}

/** The request's body, kept when the caller's key keeps bodies. */
export const setRequestBody = (record: RequestRecord | undefined, text: string): void => {
  if (record?.logBodies !== true) return
  const body = loggedBody(text)
  record.requestBody = body.text
  record.requestBodyTruncated = body.truncated
}

/** The answer's body (JSON, an error, a stream's text), kept when the caller's key keeps bodies. */
export const setResponseBody = (record: RequestRecord | undefined, text: string): void => {
  if (record?.logBodies !== true) return
  const body = loggedBody(text)
  record.responseBody = body.text
  record.responseBodyTruncated = body.truncated
}

/** A piece of a stream or relayed answer as it is written to the client, kept (its first part) when the caller's key keeps bodies. */
export const captureAnswer = (record: RequestRecord | undefined, piece: string): void => {
  if (record?.logBodies !== true) return
  ;(record.answerCapture ??= makeBodyCapture()).add(piece)
}

/**
 * A stream's part ended: `assembled` is the whole text of the client's answer so far, or
 * `undefined` when text alone would leave something out (a tool call, reasoning); the log then
 * keeps the first of the raw stream the client was sent.
 */
export const setStreamAnswer = (record: RequestRecord | undefined, assembled: string | undefined): void => {
  if (record?.logBodies !== true) return
  if (assembled !== undefined) return setResponseBody(record, assembled)
  record.responseBody = null
  record.responseBodyTruncated = false
}

/** One upstream call's result. */
export const addAttempt = (
  record: RequestRecord | undefined,
  provider: string,
  model: string,
  outcome: string,
  status: number | null,
  ms: number,
): void => {
  record?.attempts.push({ provider, model, outcome, status, ms: Math.max(0, Math.round(ms)) })
}

/** The last call committed a stream that then broke. */
export const markLastAttemptCut = (record: RequestRecord | undefined): void => {
  const last = record?.attempts[record.attempts.length - 1]
  if (last !== undefined && last.outcome === "ok") last.outcome = "cut"
}

/** The answer came from `provider`'s `model`. */
export const setServed = (record: RequestRecord | undefined, provider: string, model: string): void => {
  if (record === undefined) return
  record.provider = provider
  record.model = model
}

/** The stream committed (or a relayed answer started) at `now`, epoch milliseconds. */
export const setFirstToken = (record: RequestRecord | undefined, now: number): void => {
  if (record !== undefined && record.ttftMs === null) record.ttftMs = Math.max(0, Math.round(now - record.startedAt))
}

/** Token counts as the dialects report them (any field may be missing). */
export interface TokenUsage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

const plus = (sum: number | null, add: number | undefined): number | null =>
  typeof add === "number" && Number.isFinite(add) && add >= 0 ? (sum ?? 0) + Math.round(add) : sum

/** Adds one upstream's usage (a rescued stream's parts add up). */
export const addUsage = (record: RequestRecord | undefined, usage: TokenUsage): void => {
  if (record === undefined) return
  record.inputTokens = plus(record.inputTokens, usage.inputTokens)
  record.outputTokens = plus(record.outputTokens, usage.outputTokens)
  record.cachedInputTokens = plus(record.cachedInputTokens, usage.cachedInputTokens)
  record.reasoningTokens = plus(record.reasoningTokens, usage.reasoningTokens)
}

/** Adds the cost of one answered part (null: its model has no price). */
export const addCost = (record: RequestRecord | undefined, cost: number | null): void => {
  if (record !== undefined && cost !== null) record.costNanoUsd = (record.costNanoUsd ?? 0) + cost
}

/** Control characters: a NUL is refused by Postgres text and JSON columns alike; the others have no place in one line. */
const CONTROL = /[\u0000-\u001f\u007f]+/g
/** Half of a surrogate pair without its other half (as a cut may leave). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * A short, credential-free, one-line error message that any database column takes: redacted,
 * control characters made spaces, lone surrogates replaced (Postgres refuses both), capped.
 */
export const shortErrorMessage = (message: string): string => {
  const text = redactText(
    message.length > 4 * ERROR_MESSAGE_MAX ? message.slice(0, 4 * ERROR_MESSAGE_MAX) : message,
  ).replace(CONTROL, " ")
  const capped = text.length > ERROR_MESSAGE_MAX ? `${text.slice(0, ERROR_MESSAGE_MAX - 1)}…` : text
  return capped.replace(LONE_SURROGATE, "\uFFFD")
}

/** What went wrong (`undefined` message: none to keep). */
export const setError = (record: RequestRecord | undefined, errorClass: string, message: string | undefined): void => {
  if (record === undefined) return
  record.errorClass = errorClass
  record.errorMessage = message === undefined ? null : shortErrorMessage(message)
}

/** The error no longer describes the request (a rescue completed the stream). */
export const clearError = (record: RequestRecord): void => {
  record.errorClass = null
  record.errorMessage = null
}

/** How a stream's part ended, as `gateway/StreamCommit` reports it. */
export interface PartOutcome {
  readonly complete: boolean
  readonly error?: string | undefined
  readonly byGateway?: boolean | undefined
  readonly rescued?: boolean | undefined
}

/** The error class of a part that did not end cleanly. */
const cutClass = (outcome: PartOutcome): string =>
  outcome.error === "client disconnected" ? "ClientDisconnected" : outcome.byGateway === true ? "Shutdown" : "StreamCut"

/**
 * One upstream's part of a stream ended (the first one, or a continuation): whether the client's
 * answer is complete so far, and why not. A part handed to a rescue keeps its error until a
 * continuation completes the stream.
 */
export const endStreamPart = (record: RequestRecord | undefined, outcome: PartOutcome, continuation: boolean): void => {
  if (record === undefined) return
  record.complete = outcome.complete
  if (continuation) record.rescued = true
  if (outcome.complete) {
    if (continuation) clearError(record)
    return
  }
  if (outcome.error !== "client disconnected") markLastAttemptCut(record)
  setError(record, cutClass(outcome), outcome.error)
}

/** The response closed: its status and the request's duration. */
export const closeRecord = (record: RequestRecord, status: number, endedAt: number): void => {
  if (record.answerCapture !== undefined) {
    if (record.responseBody === null) {
      const body = record.answerCapture.logged()
      record.responseBody = body.text
      record.responseBodyTruncated = body.truncated
    }
    record.answerCapture = undefined
  }
  record.status = status
  record.latencyMs = Math.max(0, Math.round(endedAt - record.startedAt))
  if (status === 499 && record.errorClass === null)
    setError(record, "ClientDisconnected", "the client closed the connection before it was answered")
}
