/**
 * Session stickiness: `X-Session-Id` binds a conversation to the (provider, model) that served
 * it, in Kv with a TTL (default 7200 s, `SESSION_TTL`), shared by every instance.
 *
 * The caller binds only when an attempt succeeded (non-streaming 2xx) or committed (streaming:
 * first meaningful event), never after a 4xx (an upstream that refused the request must not
 * capture the conversation). A binding counts only for the logical model it was made for, and
 * Plan ignores it while the bound upstream's circuit is not closed. Bindings are scoped by owner
 * (the API key or user), so one tenant can neither read nor steer another's session by guessing
 * its id (session ids are chosen by clients).
 */
import { Clock, Config, Duration, Effect, Option, Schema } from "effect"
import type { Principal } from "../identity/Principal.js"
import { durationConfig } from "../shared/DurationConfig.js"
import { Kv, type KvError } from "../storage/Kv.js"
import { kvRecord } from "../storage/KvRecord.js"
import type { StickyTarget } from "./Plan.js"

export const SessionBinding = Schema.Struct({
  logicalModel: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  createdAt: Schema.Number,
  lastAccessed: Schema.Number,
})
export type SessionBinding = typeof SessionBinding.Type

const { decode, encode } = kvRecord(SessionBinding)

export const MAX_SESSION_ID_LENGTH = 256

/** The owner scope of a principal's sessions. */
export const sessionOwner = (p: Principal): string =>
  p.apiKeyId !== null ? `key:${p.apiKeyId}` : p.userId !== null ? `user:${p.userId}` : `${p.kind}:${p.username}`

/** A usable session id, or undefined (absent, blank, or absurdly long ids are ignored). */
export const normalizeSessionId = (raw: string | null | undefined): string | undefined => {
  const id = raw?.trim()
  return id === undefined || id.length === 0 || id.length > MAX_SESSION_ID_LENGTH ? undefined : id
}

const sessionKey = (owner: string, sessionId: string) => `routing:session:${owner}:${sessionId}`

export const makeStickiness = Effect.gen(function* () {
  const kv = yield* Kv
  const ttl = yield* durationConfig("SESSION_TTL").pipe(Config.withDefault(Duration.seconds(7200)))

  const read = (owner: string, id: string): Effect.Effect<Option.Option<SessionBinding>, KvError> =>
    kv.get(sessionKey(owner, id)).pipe(Effect.map((raw) => (raw === undefined ? Option.none() : decode(raw))))

  /** The binding, for the management API (errors surface: the caller answers 503). */
  const get = Effect.fnUntraced(function* (owner: string, sessionId: string) {
    const id = normalizeSessionId(sessionId)
    if (id === undefined) return Option.none<SessionBinding>()
    return yield* read(owner, id)
  })

  /** The bound upstream for this logical model, or null. Never fails (routing works without it). */
  const target = Effect.fnUntraced(function* (
    owner: string,
    sessionId: string | null | undefined,
    logicalModel: string,
  ) {
    const id = normalizeSessionId(sessionId)
    if (id === undefined) return null
    const binding = yield* read(owner, id).pipe(
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logWarning("session store unavailable").pipe(Effect.annotateLogs({ error: e.message })),
          Option.none<SessionBinding>(),
        ),
      ),
    )
    if (Option.isNone(binding) || binding.value.logicalModel !== logicalModel) return null
    return {
      provider: binding.value.provider,
      model: binding.value.model,
    } satisfies StickyTarget as StickyTarget | null
  })

  /** Binds (or re-binds) the session; keeps `createdAt`, refreshes `lastAccessed` and the TTL. */
  const bind = Effect.fnUntraced(
    function* (
      owner: string,
      sessionId: string | null | undefined,
      upstream: { readonly logicalModel: string; readonly provider: string; readonly model: string },
    ) {
      const id = normalizeSessionId(sessionId)
      if (id === undefined) return Option.none<SessionBinding>()
      const now = yield* Clock.currentTimeMillis
      const prev = yield* read(owner, id)
      const binding: SessionBinding = {
        logicalModel: upstream.logicalModel,
        provider: upstream.provider,
        model: upstream.model,
        createdAt: Option.isSome(prev) ? prev.value.createdAt : now,
        lastAccessed: now,
      }
      yield* kv.set(sessionKey(owner, id), encode(binding), ttl)
      return Option.some(binding)
    },
    Effect.catchAll((e) =>
      Effect.as(
        Effect.logWarning("session bind failed").pipe(Effect.annotateLogs({ error: e.message })),
        Option.none<SessionBinding>(),
      ),
    ),
  )

  /** Deletes the binding; false when there was none (the API answers 404). */
  const remove = Effect.fnUntraced(function* (owner: string, sessionId: string) {
    const id = normalizeSessionId(sessionId)
    if (id === undefined) return false
    const prev = yield* kv.get(sessionKey(owner, id))
    if (prev === undefined) return false
    yield* kv.del(sessionKey(owner, id))
    return true
  })

  return { get, target, bind, remove, ttl } as const
})

export class Stickiness extends Effect.Service<Stickiness>()("gateway/routing/Stickiness", {
  effect: makeStickiness,
}) {}
