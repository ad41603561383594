import { Effect } from "effect"
import { BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, TooManyRequests, Unauthorized } from "../ManagementApi.js"

export type ManagementError = BadRequest | Unauthorized | Forbidden | NotFound | Conflict | ServiceUnavailable | TooManyRequests

/**
 * A failure of the services behind the management API → its HTTP error. Storage failures
 * become a 503 with a generic message (the cause is logged, never shown).
 */
export const toManagementError = (error: { readonly _tag: string }): Effect.Effect<never, ManagementError> => {
  const e = error as { readonly _tag: string; readonly message?: string; readonly status?: number; readonly details?: Record<string, unknown> }
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
        new TooManyRequests({ message, details: { retry_after_seconds: Math.ceil(((error as { readonly retryAfterMs?: number }).retryAfterMs ?? 0) / 1000) } }),
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
          Effect.fail(new ServiceUnavailable({ message: "The change was saved, but reloading the provider registry failed" })),
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
