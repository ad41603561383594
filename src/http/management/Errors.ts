import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Option } from "effect"
import {
  BadRequest,
  Conflict,
  Forbidden,
  NotFound,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
} from "./CoreApi.js"

export type ManagementError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | ServiceUnavailable
  | TooManyRequests

/**
 * A failure of the services behind the management API → its HTTP error. Storage failures
 * become a 503 with a generic message (the cause is logged, never shown).
 */
export const toManagementError = (error: { readonly _tag: string }): Effect.Effect<never, ManagementError> => {
  const e = error as {
    readonly _tag: string
    readonly message?: string
    readonly status?: number
    readonly details?: Record<string, unknown>
  }
  const message = e.message ?? "Request failed"
  switch (e._tag) {
    case "BadRequest":
    case "Unauthorized":
    case "Forbidden":
    case "NotFound":
    case "Conflict":
    case "ServiceUnavailable":
      return Effect.fail(error as ManagementError)
    case "AuthError":
      return Effect.fail(e.status === 403 ? new Forbidden({ message }) : new Unauthorized({ message }))
    case "TooManyLoginAttempts":
      return Effect.fail(
        new TooManyRequests({
          message,
          details: {
            retry_after_seconds: Math.ceil(((error as { readonly retryAfterMs?: number }).retryAfterMs ?? 0) / 1000),
          },
        }),
      )
    case "ResourceNotFound":
      return Effect.fail(new NotFound({ message }))
    case "ResourceConflict":
      return Effect.fail(new Conflict({ message }))
    case "InvalidInput":
      return Effect.fail(new BadRequest({ message, ...(e.details ? { details: e.details } : {}) }))
    case "RegistryLoadError":
      return Effect.logError("provider registry reload failed after a change").pipe(
        Effect.annotateLogs("reason", message),
        Effect.zipRight(
          Effect.fail(
            new ServiceUnavailable({ message: "The change was saved, but reloading the provider registry failed" }),
          ),
        ),
      )
    default:
      return Effect.logError("management request failed").pipe(
        Effect.annotateLogs({ error: e._tag, reason: message }),
        Effect.zipRight(Effect.fail(new ServiceUnavailable({ message: "Storage is unavailable, try again" }))),
      )
  }
}

/** Maps every typed failure of `effect` with `toManagementError`. */
export const managed = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, ManagementError, R> => Effect.catchAll(effect, toManagementError)

/** Characters of client input an error message may quote. */
const EXCERPT = 100
/** Issues listed in `details.issues`. */
const MAX_ISSUES = 10

const excerpt = (text: string, max = EXCERPT): string => (text.length <= max ? text : `${text.slice(0, max)}…`)

/** `["keys", 0, "label"]` → `keys[0].label`; the root is `body`. */
const pathOf = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`
    else {
      const name = excerpt(String(part), 40)
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? (out === "" ? name : `.${name}`) : `[${JSON.stringify(name)}]`
    }
  }
  return out === "" ? "body" : out
}

/**
 * One Schema issue → what was expected, readable: never a Schema's type dump, and the value the
 * client sent quoted only as a short excerpt.
 */
const describeIssue = (issue: { readonly _tag: string; readonly message: string }): string => {
  if (issue._tag === "Missing") return "is required"
  if (issue._tag === "Unexpected") return "is not allowed here"
  const [expected, ...rest] = issue.message.split(/, actual /)
  const actual = rest.join(", actual ")
  let what = (expected ?? issue.message).replace(/^Expected /, "expected ")
  // A struct or union written out in full is a Schema dump, not a message.
  if (/^expected (\{ readonly \[|Record\b)/.test(what)) what = "expected a JSON object of strings"
  else if (/^expected (\{|Struct\b)/.test(what)) what = "expected a JSON object"
  else if (/^expected (ReadonlyArray<|\[|Array\b)/.test(what)) what = "expected an array"
  else if (what.length > 160) what = excerpt(what, 160)
  what = what.replace(/ \((En|De)coded side\)/g, "")
  return actual === "" ? what : `${what} (got ${excerpt(actual, 40)})`
}

type DecodeIssue = HttpApiDecodeError["issues"][number]

/**
 * A request that does not match its Schema → `400 { _tag: "BadRequest", message: "<path>:
 * <what was expected>", details: { issues } }`. For a union (say `null` or a number in range) the
 * issue that got furthest is the one reported.
 */
export const renderDecodeError = (issues: ReadonlyArray<DecodeIssue>) => {
  const seen = new Set<string>()
  const described: Array<{ path: string; message: string }> = []
  // Deepest first: for `NullOr(Int between …)` "expected null" is the least useful of the two.
  // An optional or nullable field's "expected undefined/null" says nothing when another issue exists.
  const absent = (issue: DecodeIssue) => /^Expected (null|undefined)\b/.test(issue.message)
  const useful = issues.some((issue) => !absent(issue)) ? issues.filter((issue) => !absent(issue)) : issues
  const ordered = [...useful].sort((a, b) => b.path.length - a.path.length)
  for (const issue of ordered) {
    const path = pathOf(issue.path)
    if (seen.has(path)) continue
    seen.add(path)
    described.push({ path, message: describeIssue(issue) })
    if (described.length === MAX_ISSUES) break
  }
  const first = described[0] ?? { path: "body", message: "does not match the expected shape" }
  return {
    _tag: "BadRequest" as const,
    message: `${first.path}: ${first.message}`,
    details: { issues: described },
  }
}

const isDecodeError = (error: unknown): error is HttpApiDecodeError =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "HttpApiDecodeError"

/**
 * The body could not be read as JSON (HttpServerError `RequestError`, reason `Decode`), or was
 * sent as a multipart form the builder failed to parse (`MultipartError`).
 */
const isUnreadableBody = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const tag = (error as { _tag?: unknown })._tag
  return (tag === "RequestError" && (error as { reason?: unknown }).reason === "Decode") || tag === "MultipartError"
}

/**
 * The one place a management request that fails decoding is answered: a Schema mismatch (body,
 * path or query) and a body that is not JSON both become a readable 400 — never the raw Schema
 * dump (which quotes the whole input, however large), never a 500.
 */
export const DecodeErrorsLive = HttpApiBuilder.middleware(
  (app) =>
    // Typed `never`, but the router fails with the endpoints' errors until the API encodes them;
    // an unreadable JSON body is a defect there (the builder reads bodies with `orDie`).
    Effect.catchAllCause(
      app as Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, HttpServerRequest.HttpServerRequest>,
      (cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && isDecodeError(failure.value)) {
          return Effect.succeed(HttpServerResponse.unsafeJson(renderDecodeError(failure.value.issues), { status: 400 }))
        }
        const defect = Cause.dieOption(cause)
        if (Option.isSome(defect) && isUnreadableBody(defect.value)) {
          return Effect.succeed(
            HttpServerResponse.unsafeJson(
              { _tag: "BadRequest", message: "body: not valid JSON (send a JSON object as application/json)" },
              { status: 400 },
            ),
          )
        }
        return Effect.failCause(cause)
      },
    ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>,
)
