import { type Exchange, sendJson } from "./Exchange.js"

/**
 * The mock's own Responses store, as OpenAI keeps one: a response created with `store` (default
 * true) can be continued with `previous_response_id`, read (`GET /v1/responses/{id}`), listed
 * (`…/input_items`) and deleted. One per mock server; every provider pointed at the mock shares it.
 */
export interface StoredMockResponse {
  readonly response: Record<string, unknown>
  /** Every input item of the turn, earlier turns first. */
  readonly input: ReadonlyArray<Record<string, unknown>>
}

export type MockResponsesStore = Map<string, StoredMockResponse>

const notFound = (ex: Exchange, message: string, param: string | null, code: string | null) =>
  sendJson(ex, 404, { error: { message, type: "invalid_request_error", param, code } })

/** A message's string content as OpenAI lists it: one text part. */
const parts = (item: any): unknown =>
  typeof item.content === "string"
    ? [{ type: item.role === "assistant" ? "output_text" : "input_text", text: item.content }]
    : item.content

/** The request's own input items, each with an id (as OpenAI lists them). */
const inputItems = (json: any, seq: number): Array<Record<string, unknown>> => {
  const input = json?.input
  const items: Array<any> =
    typeof input === "string" ? [{ role: "user", content: input }] : Array.isArray(input) ? input : []
  return items.map((item, i) =>
    (item.type ?? "message") === "message"
      ? { id: `msg_in${seq}_${i}`, type: "message", status: "completed", ...item, content: parts(item) }
      : { id: `item_in${seq}_${i}`, ...item },
  )
}

/**
 * The history a request continues: the stored turns behind `previous_response_id`; `undefined`
 * after answering 400 (as OpenAI does) when there is no such response.
 */
export const historyOf = (
  ex: Exchange,
  store: MockResponsesStore,
): ReadonlyArray<Record<string, unknown>> | undefined => {
  const previous = ex.json?.previous_response_id
  if (typeof previous !== "string") return []
  const stored = store.get(previous)
  if (stored !== undefined)
    return [...stored.input, ...((stored.response.output as Array<Record<string, unknown>>) ?? [])]
  sendJson(ex, 400, {
    error: {
      message: `Previous response with id '${previous}' not found.`,
      type: "invalid_request_error",
      param: "previous_response_id",
      code: "previous_response_not_found",
    },
  })
  return undefined
}

/** Keeps a finished response when the request asked for it (`store` is true by default). */
export const keep = (
  ex: Exchange,
  store: MockResponsesStore,
  history: ReadonlyArray<Record<string, unknown>>,
  response: Record<string, unknown>,
) => {
  if (ex.json?.store === false) return
  // Bounded, for long runs: the oldest response goes first.
  if (store.size >= 10_000) store.delete(store.keys().next().value!)
  store.set(response.id as string, { response, input: [...history, ...inputItems(ex.json, ex.seq)] })
}

const STORED = /^\/v1\/responses\/([^/]+)(\/input_items|\/cancel)?$/

/** `GET`/`DELETE /v1/responses/{id}`, `GET …/input_items`, `POST …/cancel`; false when the request is not one of them. */
export const serveStored = (ex: Exchange, store: MockResponsesStore): boolean => {
  const { method, path, url } = ex.entry
  const m = STORED.exec(path)
  const allowed =
    m?.[2] === "/cancel" ? method === "POST" : method === "GET" || (method === "DELETE" && m?.[2] === undefined)
  if (m === null || !allowed) return false
  const id = decodeURIComponent(m[1]!)
  const stored = store.get(id)
  if (stored === undefined) {
    notFound(ex, `Response with id '${id}' not found.`, null, null)
    return true
  }
  if (m[2] === "/cancel") {
    const cancelled = { ...stored.response, status: "cancelled" }
    store.set(id, { ...stored, response: cancelled })
    sendJson(ex, 200, cancelled)
  } else if (method === "DELETE") {
    store.delete(id)
    sendJson(ex, 200, { id, object: "response", deleted: true })
  } else if (m[2] === undefined) sendJson(ex, 200, stored.response)
  else {
    const query = new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : "")
    const ordered = query.get("order") === "asc" ? stored.input : [...stored.input].reverse()
    const after = query.get("after")
    const start = after === null ? 0 : ordered.findIndex((item) => item.id === after) + 1
    const data = ordered.slice(start, start + Number(query.get("limit") ?? 20))
    sendJson(ex, 200, {
      object: "list",
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + data.length < ordered.length,
    })
  }
  return true
}
