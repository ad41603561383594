import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ResponseRepository, type ResponseRow } from "../storage/ResponseRepository.js"

export type { ResponseRow } from "../storage/ResponseRepository.js"

/** How often expired responses are deleted. */
const SWEEP_INTERVAL = Duration.hours(1)

/** A response the gateway holds itself: what `GET /v1/responses/{id}` and the next turn read. */
export interface OwnResponse {
  readonly id: string
  readonly owner: string
  readonly model: string
  /** The response object as JSON text (as the client was answered). */
  readonly response: string
  /** Every input item of the turn, earlier turns included, as a JSON array's text. */
  readonly inputItems: string
}

/** A response a provider holds natively: where a follow-up, GET or DELETE must go. */
export interface NativeResponse {
  readonly id: string
  readonly owner: string
  readonly provider: string
  readonly providerKeyId: string | null
  readonly model: string
}

/**
 * Stored Responses (docs/ARCHITECTURE.md, "Stored Responses"): the gateway's own copies and the
 * record of which provider holds a native one, scoped to an owner, kept RESPONSES_RETENTION_DAYS
 * (expired rows are never served and are swept hourly by every instance), each of the gateway's
 * own at most RESPONSES_MAX_BYTES.
 */
export class ResponseStore extends Effect.Service<ResponseStore>()("gateway/conversation/ResponseStore", {
  scoped: Effect.gen(function* () {
    const repository = yield* ResponseRepository
    const config = yield* AppConfig
    const retentionMs = config.responsesRetentionDays * 86_400_000
    const maxBytes = config.responsesMaxBytes

    const expiry = (now: number): Date | null => (retentionMs === 0 ? null : new Date(now + retentionMs))

    /** Stores the gateway's own response: "too_large" (and nothing stored) past RESPONSES_MAX_BYTES. */
    const saveOwn = Effect.fn("ResponseStore.saveOwn")(function* (turn: OwnResponse) {
      const bytes = Buffer.byteLength(turn.response) + Buffer.byteLength(turn.inputItems)
      if (bytes > maxBytes) return "too_large" as const
      const stored = yield* repository.put({
        ...turn,
        provider: null,
        providerKeyId: null,
        bytes,
        expiresAt: expiry(Date.now()),
      })
      return stored ? ("stored" as const) : ("taken" as const)
    })

    /** Records which provider (and key) holds a native response. */
    const saveNative = Effect.fn("ResponseStore.saveNative")(function* (native: NativeResponse) {
      return yield* repository.put({
        ...native,
        response: null,
        inputItems: null,
        bytes: 0,
        expiresAt: expiry(Date.now()),
      })
    })

    /** `owner`'s response `id`, unless it is unknown, another owner's or expired. */
    const find = (owner: string, id: string): Effect.Effect<ResponseRow | undefined, SqlError> =>
      repository.find(owner, id, new Date())

    /** Deletes `owner`'s response `id`: true when there was one. */
    const remove = (owner: string, id: string) => repository.remove(owner, id, new Date())

    /** Deletes expired responses; never fails (logged, tried again at the next sweep). */
    const sweep = Effect.suspend(() => repository.deleteExpired(new Date())).pipe(
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("expired responses not swept").pipe(Effect.annotateLogs({ reason: error.message })),
          0,
        ),
      ),
    )
    if (retentionMs > 0)
      yield* sweep.pipe(Effect.zipLeft(Effect.sleep(SWEEP_INTERVAL)), Effect.forever, Effect.forkScoped)

    return { maxBytes, saveOwn, saveNative, find, remove, sweep } as const
  }),
  dependencies: [ResponseRepository.Default],
}) {}
