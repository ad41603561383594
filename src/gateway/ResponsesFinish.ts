import { Duration, Effect, type Fiber } from "effect"
import type { ResponseStore } from "../conversation/ResponseStore.js"
import { type JsonObject, str } from "../protocol/Json.js"
import { makeFrameWatch, patchResponse, RESPONSE_ID } from "../protocol/openai-responses/Stored.js"
import type { GatewayAnswer, Served } from "./GatewayRequest.js"
import { logRequestWarning } from "./RequestLog.js"
import { patchOf, type ResponsesTurn, responseObjectOf, storedBytes } from "./ResponsesTurn.js"
import type { CommitHooks } from "./StreamCommit.js"

/** How long the end of a stream waits for its turn to be stored. */
const STORE_WAIT = Duration.seconds(5)

export interface TurnFinishDeps {
  readonly store: ResponseStore
  readonly runInBackground: <A>(effect: Effect.Effect<A>) => Fiber.RuntimeFiber<A>
}

type State = "native" | "gateway" | undefined

/** A failure to store is logged, never the client's error: it is told by the answer's `store` instead. */
const logged = (requestId: string | undefined, what: string) => (error: { readonly message: string }) =>
  Effect.as(logRequestWarning(requestId, what, { reason: error.message }), "failed" as const)

/** Records which provider (and key) keeps a response, so a follow-up, GET or DELETE goes there. */
const recordNative = (
  deps: TurnFinishDeps,
  turn: ResponsesTurn,
  served: Served,
  keyId: string | undefined,
  id: string | undefined,
  requestId: string | undefined,
) => {
  if (!turn.fields.store || id === undefined) return Effect.void
  if (!RESPONSE_ID.test(id))
    return logRequestWarning(requestId, "a provider's response id was not recorded: not a plain id", {
      provider: served.provider,
    })
  const native = { id, owner: turn.owner, provider: served.provider, providerKeyId: keyId ?? null, model: served.model }
  return deps.store
    .saveNative(native)
    .pipe(Effect.asVoid, Effect.catchAll(logged(requestId, "a provider's response id was not recorded")))
}

/** A response too large to keep is answered, not stored: the operator hears of it. */
const tooLarge = (requestId: string | undefined, bytes: number, maxBytes: number) =>
  logRequestWarning(requestId, "a response was not stored: over RESPONSES_MAX_BYTES", { bytes, max_bytes: maxBytes })

/** Stores a final response object the gateway keeps: "stored", or why not. */
const storeOwn = (
  deps: TurnFinishDeps,
  turn: ResponsesTurn,
  served: Served,
  response: string,
  requestId: string | undefined,
) =>
  deps.store
    .saveOwn({ id: turn.id, owner: turn.owner, model: served.model, response, inputItems: turn.inputText() })
    .pipe(
      Effect.tap((outcome) =>
        outcome === "too_large" ? tooLarge(requestId, storedBytes(turn, response), deps.store.maxBytes) : Effect.void,
      ),
      Effect.catchAll(logged(requestId, "a response was not stored")),
    )

/**
 * A JSON answer to a Responses turn: a provider's own stored response is recorded; one the gateway
 * keeps gets the gateway's id and state fields and is stored before the client is answered (its
 * next turn must find it) — `store: false` in the answer says it was not (too large, or the
 * database failed).
 */
const finishJson = Effect.fnUntraced(function* (
  deps: TurnFinishDeps,
  turn: ResponsesTurn,
  state: State,
  answer: GatewayAnswer,
  keyId: string | undefined,
  requestId: string | undefined,
) {
  if (answer._tag !== "Json" || state === undefined) return answer
  const json = responseObjectOf(answer.body)
  if (json === undefined) return answer
  if (state === "native") {
    yield* recordNative(deps, turn, answer.served, keyId, str(json.id), requestId)
    return answer
  }
  let patched: JsonObject = patchResponse(json, patchOf(turn, turn.fields.store))
  if (turn.fields.store) {
    const outcome = yield* storeOwn(deps, turn, answer.served, JSON.stringify(patched), requestId)
    if (outcome !== "stored") patched = { ...patched, store: false }
  }
  return { ...answer, body: JSON.stringify(patched) }
})

/**
 * The commit hooks of a streamed Responses turn: the gateway's id and state fields in every
 * response object it keeps, and the end of the client's response held until the turn is stored
 * (or recorded, when the provider keeps it). Only a complete stream (`response.completed` or
 * `.incomplete`) is stored; a final object that would pass RESPONSES_MAX_BYTES says `store: false`.
 */
const streamHooks = (
  deps: TurnFinishDeps,
  turn: ResponsesTurn,
  state: State,
  served: Served,
  keyId: string | undefined,
  requestId: string | undefined,
): Partial<CommitHooks> => {
  if (state === undefined) return {}
  const maxBytes = deps.store.maxBytes
  const keeps = state === "gateway" && turn.fields.store
  const watch = makeFrameWatch(
    state === "native" ? undefined : patchOf(turn, keeps && Buffer.byteLength(turn.inputText()) < maxBytes),
    keeps ? (final) => storedBytes(turn, JSON.stringify(final)) <= maxBytes : undefined,
  )
  const holdEnd = (end: () => void) => {
    const final = watch.final()
    if (final === undefined) return end()
    const work =
      state === "native"
        ? recordNative(deps, turn, served, keyId, watch.firstId() ?? str(final.id), requestId)
        : final.store === true
          ? storeOwn(deps, turn, served, JSON.stringify(final), requestId)
          : keeps
            ? tooLarge(requestId, storedBytes(turn, JSON.stringify(final)), maxBytes)
            : Effect.void
    deps.runInBackground(work.pipe(Effect.timeout(STORE_WAIT), Effect.ignore, Effect.ensuring(Effect.sync(end))))
  }
  return { rewrite: watch.rewrite, holdEnd }
}

/** How the answers to Responses turns are finished (docs/ARCHITECTURE.md, "Stored Responses"). */
export const makeTurnFinisher = (deps: TurnFinishDeps) => ({
  json: (
    turn: ResponsesTurn,
    state: State,
    answer: GatewayAnswer,
    keyId: string | undefined,
    requestId: string | undefined,
  ) => finishJson(deps, turn, state, answer, keyId, requestId),
  streamHooks: (
    turn: ResponsesTurn,
    state: State,
    served: Served,
    keyId: string | undefined,
    requestId: string | undefined,
  ) => streamHooks(deps, turn, state, served, keyId, requestId),
})

export type TurnFinisher = ReturnType<typeof makeTurnFinisher>
