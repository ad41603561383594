/**
 * Stateful Responses, the pure part (docs/ARCHITECTURE.md, "Stored Responses"): the state fields
 * of a request (`store`, `previous_response_id`, and what only a provider's own store can serve),
 * the input items of a turn as they are stored and listed, the rebuilt input of a follow-up, and
 * the response objects — whole or inside stream frames — given the id the client is told.
 */
import { Either } from "effect"
import { type IdGenerator, ProtocolError } from "../Canonical.js"
import { asArray, asObject, isObject, type JsonObject, parseJson, str } from "../Json.js"
import { sseJson } from "../Sse.js"

/** Response and item ids the gateway accepts, records and forwards: nothing that could leave a URL path segment. */
export const RESPONSE_ID = /^[A-Za-z0-9_-]{1,200}$/

const invalid = (message: string, param: string) =>
  Either.left(new ProtocolError({ dialect: "openai-responses", message, param }))

/** The state fields of a Responses request. */
export interface TurnFields {
  /** `store` (default true, as OpenAI): the response may be read back and continued. */
  readonly store: boolean
  readonly previousResponseId: string | undefined
  /**
   * What the request asks that only a provider's own Responses store can serve, by name:
   * `background`, `conversation`. (Stored prompts and `item_reference` items name a provider's
   * objects, not a conversation: they pass through to a Responses upstream, and converting them
   * is refused by ConversionLoss.)
   */
  readonly nativeOnly: ReadonlyArray<string>
}

const nativeOnlyOf = (body: JsonObject): Array<string> => {
  const out: Array<string> = []
  if (body.background === true) out.push("background")
  if (body.conversation != null) out.push("conversation")
  return out
}

/** Reads (and checks) the state fields of a Responses request body. */
export const readTurnFields = (body: JsonObject): Either.Either<TurnFields, ProtocolError> => {
  if (body.store !== undefined && body.store !== null && typeof body.store !== "boolean")
    return invalid("store must be true or false", "store")
  const previous = body.previous_response_id
  if (previous !== undefined && previous !== null && (typeof previous !== "string" || !RESPONSE_ID.test(previous))) {
    return invalid(
      "previous_response_id must be a response id (letters, digits, '_' and '-', at most 200)",
      "previous_response_id",
    )
  }
  return Either.right({
    store: body.store !== false,
    previousResponseId: typeof previous === "string" ? previous : undefined,
    nativeOnly: nativeOnlyOf(body),
  })
}

const ITEM_PREFIX: Readonly<Record<string, string>> = {
  message: "msg_",
  function_call_output: "fco_",
  function_call: "fc_",
  reasoning: "rs_",
}

/** A message's content as parts (`input_text` from the client's side, `output_text` from the assistant's). */
const contentParts = (role: string, content: unknown): unknown =>
  typeof content === "string" ? [{ type: role === "assistant" ? "output_text" : "input_text", text: content }] : content

/** One input item as it is stored and listed: typed, its content as parts, with an id. Not an object: kept as it is. */
const storedItem = (item: unknown, ids: IdGenerator): unknown => {
  if (!isObject(item)) return item
  const type = str(item.type) ?? (item.role !== undefined ? "message" : undefined)
  if (type === undefined) return item
  const out: JsonObject = {
    id: typeof item.id === "string" ? item.id : ids(ITEM_PREFIX[type] ?? "item_"),
    ...item,
    type,
  }
  if (type === "message") out.content = contentParts(str(item.role) ?? "user", item.content)
  return out
}

/** The new input items of a turn (`input` as a string is one user message), as they are stored. */
export const newInputItems = (body: JsonObject, ids: IdGenerator): Array<unknown> => {
  const input = body.input
  if (typeof input === "string")
    return [{ id: ids("msg_"), type: "message", role: "user", content: [{ type: "input_text", text: input }] }]
  return asArray(input).map((item) => storedItem(item, ids))
}

/**
 * The whole input of a follow-up: the previous turn's input items (its own history included),
 * its output items, then the new items. The previous turn's `instructions` are not carried over
 * (as OpenAI does): only this request's own apply.
 */
export const rebuiltInput = (
  history: ReadonlyArray<unknown>,
  previousOutput: ReadonlyArray<unknown>,
  items: ReadonlyArray<unknown>,
): Array<unknown> => [...history, ...previousOutput, ...items]

/** Ids the gateway gave (or a provider's store gave) mean nothing to a provider asked without its store. */
const forUpstream = (item: unknown): unknown => {
  if (!isObject(item) || item.type === "reasoning" || item.id === undefined) return item
  const { id: _id, ...rest } = item
  return rest
}

/** Fields only the gateway's store answers: never sent to a provider asked without its own store. */
const STATE_FIELDS = new Set(["previous_response_id", "store"])

/**
 * The body a provider gets when the gateway holds the conversation: the rebuilt input in full,
 * no `previous_response_id`, and `store: false` (a Responses upstream keeps nothing of it).
 */
export const statelessBody = (body: JsonObject, input: ReadonlyArray<unknown>): JsonObject => {
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(body)) if (!STATE_FIELDS.has(key)) out[key] = value
  out.input = input.map(forUpstream)
  out.store = false
  return out
}

/** What the client is told of a response the gateway holds. */
export interface ResponsePatch {
  readonly id: string
  readonly previousResponseId: string | null
  readonly store: boolean
}

/** A response object with the gateway's id and the request's state fields. */
export const patchResponse = (response: JsonObject, patch: ResponsePatch): JsonObject => ({
  ...response,
  id: patch.id,
  previous_response_id: patch.previousResponseId,
  store: patch.store,
})

/** The output items of a response object. */
export const outputItems = (response: unknown): ReadonlyArray<unknown> => asArray(asObject(response).output)

const RESPONSE_EVENTS = new Set([
  "response.created",
  "response.queued",
  "response.in_progress",
  "response.completed",
  "response.incomplete",
  "response.failed",
])

/**
 * Watches (and, with a patch, rewrites) the response objects in a Responses client stream, one
 * piece of client text at a time (whole SSE frames). Text without a response object — every
 * delta — passes untouched after one substring test.
 */
export interface FrameWatch {
  readonly rewrite: (text: string) => string
  /** The first response id seen (the provider's, for a natively stored response). */
  readonly firstId: () => string | undefined
  /** The final response object (`response.completed` or `response.incomplete`), patched. */
  readonly final: () => JsonObject | undefined
}

interface WatchState {
  firstId: string | undefined
  final: JsonObject | undefined
}

const frameData = (frame: string): { readonly event: string | undefined; readonly data: string } => {
  let event: string | undefined
  const data: Array<string> = []
  for (const line of frame.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim()
    else if (line.startsWith("data:")) data.push(line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5))
  }
  return { event, data: data.join("\n") }
}

/** The final response object with the patch, `store: false` when it cannot be kept after all. */
const patchFinal = (
  response: JsonObject,
  patch: ResponsePatch,
  keepFinal: ((final: JsonObject) => boolean) | undefined,
): JsonObject => {
  const patched = patchResponse(response, patch)
  return patch.store && keepFinal !== undefined && !keepFinal(patched) ? { ...patched, store: false } : patched
}

/** One frame: as it was, or with its response object patched (and observed). */
const watchFrame = (
  state: WatchState,
  frame: string,
  patch: ResponsePatch | undefined,
  keepFinal: ((final: JsonObject) => boolean) | undefined,
): string => {
  const { event, data } = frameData(frame)
  const parsed = parseJson(data)
  if (!parsed.ok || !isObject(parsed.value) || !isObject(parsed.value.response)) return frame
  const json = parsed.value
  const type = str(json.type) ?? event
  if (type === undefined || !RESPONSE_EVENTS.has(type)) return frame
  state.firstId ??= str((json.response as JsonObject).id)
  const final = type === "response.completed" || type === "response.incomplete"
  const raw = json.response as JsonObject
  const response = patch === undefined ? raw : final ? patchFinal(raw, patch, keepFinal) : patchResponse(raw, patch)
  if (final) state.final = response
  return patch === undefined ? frame : sseJson({ ...json, response }, event)
}

/**
 * `patch`: the id and state fields the client is told (none: the frames are only observed).
 * `keepFinal`: whether the final response object can be kept (its size); if not, it says `store: false`.
 */
export const makeFrameWatch = (
  patch: ResponsePatch | undefined,
  keepFinal?: (final: JsonObject) => boolean,
): FrameWatch => {
  const state: WatchState = { firstId: undefined, final: undefined }
  return {
    rewrite: (text) => {
      if (!text.includes('"response":')) return text
      let out = ""
      for (const frame of text.split(/(?<=\n\n)/)) out += watchFrame(state, frame, patch, keepFinal)
      return out
    },
    firstId: () => state.firstId,
    final: () => state.final,
  }
}

/** `GET /v1/responses/{id}/input_items` query: `after` (an item id), `limit` (1–100, 20), `order` (`asc`, `desc`: default). */
export interface ItemListQuery {
  readonly after: string | undefined
  readonly limit: number
  readonly order: "asc" | "desc"
}

/** Reads the list query, or names what is wrong with it. */
export const readItemListQuery = (params: URLSearchParams): Either.Either<ItemListQuery, ProtocolError> => {
  const limitText = params.get("limit")
  const limit = limitText === null ? 20 : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN
  if (!(limit >= 1 && limit <= 100)) return invalid("limit must be a whole number from 1 to 100", "limit")
  const order = params.get("order") ?? "desc"
  if (order !== "asc" && order !== "desc") return invalid("order must be 'asc' or 'desc'", "order")
  const after = params.get("after") ?? undefined
  if (after !== undefined && !RESPONSE_ID.test(after)) return invalid("after must be an item id", "after")
  return Either.right({ after, limit, order })
}

/** One page of a response's input items, in OpenAI's list shape. An `after` that names no item: an empty page. */
export const itemPage = (items: ReadonlyArray<unknown>, query: ItemListQuery): JsonObject => {
  const ordered = query.order === "asc" ? items : [...items].reverse()
  const start = query.after === undefined ? 0 : ordered.findIndex((item) => asObject(item).id === query.after) + 1
  const data = start === 0 && query.after !== undefined ? [] : ordered.slice(start, start + query.limit)
  const idOf = (item: unknown) => str(asObject(item).id) ?? null
  return {
    object: "list",
    data,
    first_id: data.length > 0 ? idOf(data[0]) : null,
    last_id: data.length > 0 ? idOf(data[data.length - 1]) : null,
    has_more: data.length > 0 && start + data.length < ordered.length,
  }
}
