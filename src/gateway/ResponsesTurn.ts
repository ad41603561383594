import { Effect, Either } from "effect"
import type { ResponseStore } from "../conversation/ResponseStore.js"
import { StoreUnavailable } from "../identity/ApiKeyAuth.js"
import type { Principal } from "../identity/Principal.js"
import { randomIds } from "../protocol/Ids.js"
import { asArray, isObject } from "../protocol/Json.js"
import {
  newInputItems,
  outputItems,
  type ResponsePatch,
  readTurnFields,
  rebuiltInput,
  statelessBody,
  type TurnFields,
} from "../protocol/openai-responses/Stored.js"
import { keepsResponses } from "../registry/Provider.js"
import type { Plan, PlannedAttempt } from "../routing/Plan.js"
import type { ClientRequest } from "./Exchange.js"
import { InvalidRequest } from "./GatewayError.js"
import { clientRequestOf, type GatewayRequest, memoize } from "./GatewayRequest.js"

/**
 * One Responses request with state (docs/ARCHITECTURE.md, "Stored Responses"): `store`,
 * `previous_response_id`, or a feature only a provider's own store serves. How each candidate
 * is asked is `Exchange.planExchange`'s choice: a provider that keeps responses itself gets the
 * request as the client sent it; any other gets `stateless`, and the gateway keeps the turn.
 */
export interface ResponsesTurn {
  readonly fields: TurnFields
  /** Whose the response is: only they may continue, read or delete it. */
  readonly owner: string
  /** The id the client is told of a response the gateway keeps. */
  readonly id: string
  /**
   * The request as a provider without a store of its own is asked: the whole conversation, no
   * state fields. Absent when the previous response is held by a provider (the turn is pinned).
   */
  readonly stateless: ClientRequest | undefined
  /** Every input item of the turn, earlier turns first, as JSON text: what the gateway stores (serialized on first use). */
  readonly inputText: () => string
  /** The provider (and key) holding the previous response: only it can continue the conversation. */
  readonly pinned: { readonly provider: string; readonly keyId: string | null } | undefined
  /**
   * The previous response is the gateway's: the conversation stays with the gateway, so even a
   * provider with its own store gets `stateless` (it knows nothing of the previous id).
   */
  readonly continuesOwn: boolean
}

/**
 * Whose a stored response is: the user behind the API key (any of their keys may continue it),
 * else the key itself, else the master key.
 */
export const responseOwner = (p: Principal): string =>
  p.userId !== null ? `user:${p.userId}` : p.apiKeyId !== null ? `key:${p.apiKeyId}` : `${p.kind}:${p.username}`

/** What the client is told of a response the gateway keeps: its id and state fields. */
export const patchOf = (turn: ResponsesTurn, store: boolean): ResponsePatch => ({
  id: turn.id,
  previousResponseId: turn.fields.previousResponseId ?? null,
  store,
})

const previousNotFound = (id: string) =>
  new InvalidRequest({
    message: `Previous response with id '${id}' not found.`,
    param: "previous_response_id",
    code: "previous_response_not_found",
  })

const storeDown = () => new StoreUnavailable({ message: "The response store is unavailable; retry later" })

/** The previous turn's items (its input, then its output), read from a response the gateway keeps. */
const historyOf = (row: { readonly response: string | null; readonly inputItems: string | null }): Array<unknown> => {
  const parse = (text: string | null): unknown => {
    try {
      return text === null ? undefined : JSON.parse(text)
    } catch {
      return undefined
    }
  }
  return rebuiltInput(asArray(parse(row.inputItems)), outputItems(parse(row.response)), [])
}

/**
 * The state of a Responses request, read before routing; `undefined` when it has none (`store:
 * false`, no previous response, nothing a provider's store is needed for): then nothing changes.
 * The previous response must be the caller's own and not expired (else 400, as OpenAI answers).
 */
export const prepareTurn = Effect.fnUntraced(function* (store: ResponseStore, request: GatewayRequest, owner: string) {
  const read = readTurnFields(request.body)
  if (Either.isLeft(read))
    return yield* new InvalidRequest({
      message: read.left.message,
      ...(read.left.param ? { param: read.left.param } : {}),
    })
  const fields = read.right
  if (!fields.store && fields.previousResponseId === undefined && fields.nativeOnly.length === 0) return undefined
  const items = newInputItems(request.body, randomIds)
  let history: Array<unknown> = []
  let pinned: ResponsesTurn["pinned"]
  if (fields.previousResponseId !== undefined) {
    const previous = yield* Effect.mapError(store.find(owner, fields.previousResponseId), storeDown)
    if (previous === undefined) return yield* previousNotFound(fields.previousResponseId)
    if (previous.provider !== null) pinned = { provider: previous.provider, keyId: previous.providerKeyId }
    else history = historyOf(previous)
  }
  const input = rebuiltInput(history, [], items)
  const stateless =
    pinned !== undefined ? undefined : clientRequestOf({ ...request, body: statelessBody(request.body, input) })
  const turn: ResponsesTurn = {
    fields,
    owner,
    id: randomIds("resp_"),
    stateless,
    inputText: memoize(() => JSON.stringify(input)),
    pinned,
    continuesOwn: fields.previousResponseId !== undefined && pinned === undefined,
  }
  return turn
})

/** The serialized size a stored response takes: its input items and the response object. */
export const storedBytes = (turn: ResponsesTurn, response: string): number =>
  Buffer.byteLength(turn.inputText()) + Buffer.byteLength(response)

/** The response object of a JSON answer, if it is one. */
export const responseObjectOf = (body: string): Record<string, unknown> | undefined => {
  try {
    const json: unknown = JSON.parse(body)
    return isObject(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** The attempt with only the recorded key of its provider, when the provider still has it. */
const withKey = (attempt: PlannedAttempt, keyId: string | null): PlannedAttempt => {
  const provider = attempt.candidate.provider
  const keys = provider.keys.filter((k) => k.id === keyId)
  return keys.length === 0 || keys.length === provider.keys.length
    ? attempt
    : { ...attempt, candidate: { ...attempt.candidate, provider: { ...provider, keys } } }
}

/**
 * The plan of a turn. A pinned turn goes to the provider holding its conversation only — even
 * with its circuit open (as a panic-mode probe), its recorded key first — and fails clearly when
 * that provider cannot take it, rather than losing the conversation elsewhere. Features only a
 * provider's own store serves go to such providers only, and are refused (400, named) without one.
 */
export const planForTurn = (plan: Plan, turn: ResponsesTurn, model: string): Either.Either<Plan, InvalidRequest> => {
  const pinned = turn.pinned
  if (pinned !== undefined) {
    const at = (provider: { readonly id: string }) => provider.id === pinned.provider
    const open = plan.skipped.filter((s) => at(s.candidate.provider))
    const attempts = [
      ...plan.attempts.filter((a) => at(a.candidate.provider)),
      ...open.map(
        (s): PlannedAttempt => ({
          candidate: s.candidate,
          priority: s.candidate.priority,
          circuit: "open",
          score: s.score,
          reason: "panic",
        }),
      ),
    ].map((a) => withKey(a, pinned.keyId))
    if (attempts.length > 0) return Either.right({ ...plan, attempts, skipped: [] })
    const message = `Previous response '${turn.fields.previousResponseId}' is held by provider '${pinned.provider}', which does not serve model '${model}' for this request`
    return Either.left(
      new InvalidRequest({ message, param: "previous_response_id", code: "previous_response_unavailable" }),
    )
  }
  const needed = turn.fields.nativeOnly
  if (needed.length === 0) return Either.right(plan)
  const attempts = plan.attempts.filter((a) => keepsResponses(a.candidate.provider))
  const skipped = plan.skipped.filter((s) => keepsResponses(s.candidate.provider))
  if (attempts.length > 0 || skipped.length > 0) return Either.right({ ...plan, attempts, skipped })
  const message = `${needed.join(", ")}: not supported for model '${model}': only a provider that stores Responses itself can serve ${needed.length === 1 ? "it" : "them"}, and none of this model's does`
  return Either.left(new InvalidRequest({ message, param: needed[0]!, code: "unsupported_parameter" }))
}
