/**
 * One chat call through the official `openai` SDK, reported the way failoverbench's endpoint
 * adapter reports it (`adapters/http_common.py` → `CallResult`): what the caller of the gateway
 * saw — the answer, the model and usage it was told about, or the error — and whether the call
 * ended at all before its deadline (a hang is a result, not an exception).
 *
 * Differences from the Python client are the SDK's: a malformed SSE frame or an in-band
 * `data: {"error": …}` event makes the SDK throw (the Python client skips a malformed frame), and
 * a stream that simply stops is an ordinary end of iteration (so a truncated answer can look like
 * a success — which is what the scenarios' `no_truncated_success` checks catch).
 */
import OpenAI from "openai"

export interface CallResult {
  readonly ok: boolean
  readonly content: string
  readonly reportedModel: string | undefined
  readonly usage: OpenAI.CompletionUsage | undefined
  readonly error: string | undefined
  readonly errorCode: string | undefined
  readonly status: number | undefined
  readonly hang: boolean
  readonly elapsedS: number
  readonly chunks: number
}

const seconds = (since: number) => Math.round(performance.now() - since) / 1000

/**
 * Streams (with `stream_options.include_usage`, as the benchmark does) or not; gives up after
 * `maxWallS + 1` seconds and reports a hang. The SDK's own retries are off: the gateway owns them.
 */
export const callChat = async (
  client: OpenAI,
  model: string,
  messages: Array<OpenAI.ChatCompletionMessageParam>,
  options: { readonly stream: boolean; readonly maxWallS: number },
): Promise<CallResult> => {
  const started = performance.now()
  const controller = new AbortController()
  let hung = false
  const guard = setTimeout(
    () => {
      hung = true
      controller.abort()
    },
    (options.maxWallS + 1) * 1000,
  )
  const parts: Array<string> = []
  let reportedModel: string | undefined
  let usage: OpenAI.CompletionUsage | undefined
  let chunks = 0
  const result = (fields: Partial<CallResult> & { readonly ok: boolean }): CallResult => ({
    content: parts.join(""),
    reportedModel,
    usage,
    error: undefined,
    errorCode: undefined,
    status: undefined,
    chunks,
    ...fields,
    // The SDK ends an aborted stream's iteration quietly: the guard's flag is the truth.
    hang: hung,
    elapsedS: seconds(started),
  })
  const hangError = () => `hang: no result within ${options.maxWallS}s`
  try {
    if (!options.stream) {
      const answer = await client.chat.completions.create(
        { model, messages },
        { signal: controller.signal, maxRetries: 0 },
      )
      reportedModel = answer.model
      usage = answer.usage
      parts.push(answer.choices[0]?.message.content ?? "")
      return hung ? result({ ok: false, error: hangError() }) : result({ ok: true })
    }
    const stream = await client.chat.completions.create(
      { model, messages, stream: true, stream_options: { include_usage: true } },
      { signal: controller.signal, maxRetries: 0 },
    )
    for await (const chunk of stream) {
      chunks += 1
      reportedModel = chunk.model || reportedModel
      if (chunk.usage) usage = chunk.usage
      for (const choice of chunk.choices ?? []) if (choice.delta?.content) parts.push(choice.delta.content)
    }
    return hung ? result({ ok: false, error: hangError() }) : result({ ok: true })
  } catch (error) {
    if (hung) return result({ ok: false, error: hangError() })
    if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError)) {
      return result({
        ok: false,
        status: error.status,
        error:
          error.status === undefined
            ? `in-band error event after ${chunks} chunk(s): ${error.message}`
            : `HTTP ${error.status}: ${error.message}`,
        errorCode: error.code ?? undefined,
      })
    }
    return result({
      ok: false,
      error: `${error instanceof Error ? error.name : "Error"}: ${String(error instanceof Error ? error.message : error)}`,
    })
  } finally {
    clearTimeout(guard)
  }
}
