import { Effect } from "effect"

/** A warning about one request, annotated with its id (when the edge gave one) and `annotations`. */
export const logRequestWarning = (
  requestId: string | undefined,
  message: string,
  annotations: Record<string, unknown>,
) =>
  Effect.logWarning(message).pipe(
    Effect.annotateLogs({ ...(requestId === undefined ? {} : { request_id: requestId }), ...annotations }),
  )
