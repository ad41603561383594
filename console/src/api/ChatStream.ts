import { ApiError, errorMessageOf } from "./ApiError.js"
import { createSseParser, readChatChunk } from "./Sse.js"

/** The gateway's own answer headers (who served it, attempts, cost…) and the request id. */
export const gatewayHeadersOf = (headers: Headers): ReadonlyArray<readonly [string, string]> =>
  [...headers]
    .filter(([name]) => name.startsWith("x-apiproxy-") || name === "x-request-id")
    .sort(([a], [b]) => a.localeCompare(b))

const bearer = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` })

const failureOf = async (response: Response): Promise<ApiError> => {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  return new ApiError(response.status, errorMessageOf(response.status, body))
}

/** The model ids an API key may use (`GET /v1/models`). */
export const listModels = async (apiKey: string, fetchFn: typeof fetch = fetch): Promise<ReadonlyArray<string>> => {
  const response = await fetchFn("/v1/models", { headers: bearer(apiKey) })
  if (!response.ok) throw await failureOf(response)
  const body = (await response.json()) as { data?: Array<{ id?: unknown }> }
  return (body.data ?? []).map((model) => model.id).filter((id): id is string => typeof id === "string")
}

export interface ChatStreamEvents {
  /** The answer's headers, as soon as they arrive (before any text). */
  readonly onHeaders: (headers: ReadonlyArray<readonly [string, string]>) => void
  readonly onText: (text: string) => void
}

/**
 * Sends one chat with `stream: true` and relays the answer's text as it arrives. Resolves when
 * the stream ends with `[DONE]`; rejects with the gateway's message on an error answer, an
 * in-band error frame, or a stream that ends without `[DONE]` (a cut answer is never passed off
 * as complete).
 */
export const streamChat = async (
  request: { readonly apiKey: string; readonly model: string; readonly message: string; readonly signal?: AbortSignal },
  events: ChatStreamEvents,
  fetchFn: typeof fetch = fetch,
): Promise<void> => {
  const response = await fetchFn("/v1/chat/completions", {
    method: "POST",
    headers: { ...bearer(request.apiKey), "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({
      model: request.model,
      stream: true,
      messages: [{ role: "user", content: request.message }],
    }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  })
  events.onHeaders(gatewayHeadersOf(response.headers))
  if (!response.ok) throw await failureOf(response)
  if (response.body === null) throw new ApiError(response.status, "The answer had no body")
  let done = false
  let failure: string | undefined
  const parser = createSseParser((data) => {
    if (done || failure !== undefined) return
    const chunk = readChatChunk(data)
    if (chunk._tag === "Delta") events.onText(chunk.text)
    else if (chunk._tag === "Done") done = true
    else if (chunk._tag === "Error") failure = chunk.message
  })
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  for (;;) {
    const { value, done: ended } = await reader.read()
    if (ended) break
    parser.push(value)
  }
  parser.end()
  if (failure !== undefined) throw new ApiError(response.status, failure)
  if (!done) throw new ApiError(response.status, "The stream ended before the answer was complete")
}
