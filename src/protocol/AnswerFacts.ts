/**
 * What a trace tells of an answer (`gen_ai.response.model`, `gen_ai.response.finish_reasons`,
 * and for a JSON answer its token counts), read from the answer's text as it is written in any
 * dialect — a JSON body or SSE frames — without parsing it: tracing pays for this, the answer
 * does not wait for a second parse.
 *
 * Each pattern needs a quote right after the key, which a key-like word inside a JSON string can
 * never have (a quote there is written `\"`): only the answer's own fields match.
 */

export interface AnswerFacts {
  /** The model the answer says wrote it (OpenAI, Anthropic: `model`; Gemini: `modelVersion`). */
  model: string | undefined
  /** Why generation stopped, once per distinct reason, as the dialect words it. */
  readonly finishReasons: Array<string>
  inputTokens: number | undefined
  outputTokens: number | undefined
}

export const emptyAnswerFacts = (): AnswerFacts => ({
  model: undefined,
  finishReasons: [],
  inputTokens: undefined,
  outputTokens: undefined,
})

const MODEL = /"(?:model|modelVersion)"\s*:\s*"([^"\\\x00-\x1f]{1,256})"/
/** Chat `finish_reason`, Anthropic `stop_reason`, Gemini `finishReason`, a Responses answer's `incomplete_details.reason`. */
const FINISH_REASON =
  /"(?:finish_reason|stop_reason|finishReason)"\s*:\s*"([A-Za-z0-9_.-]{1,64})"|"incomplete_details"\s*:\s*\{\s*"reason"\s*:\s*"([A-Za-z0-9_.-]{1,64})"/g
const INPUT_TOKENS = /"(?:prompt_tokens|input_tokens|promptTokenCount)"\s*:\s*(\d{1,12})/
const OUTPUT_TOKENS = /"(?:completion_tokens|output_tokens|candidatesTokenCount)"\s*:\s*(\d{1,12})/
/** A hostile answer may name endless reasons: a span keeps a few. */
const MAX_FINISH_REASONS = 8

/** Adds what `text` (a JSON body, or one or more SSE frames) says to `facts`; token counts only with `tokens`. */
export const readAnswerText = (facts: AnswerFacts, text: string, tokens: boolean): void => {
  if (facts.model === undefined) facts.model = MODEL.exec(text)?.[1]
  FINISH_REASON.lastIndex = 0
  for (
    let match = FINISH_REASON.exec(text);
    match !== null && facts.finishReasons.length < MAX_FINISH_REASONS;
    match = FINISH_REASON.exec(text)
  ) {
    const reason = (match[1] ?? match[2])!
    if (!facts.finishReasons.includes(reason)) facts.finishReasons.push(reason)
  }
  if (!tokens) return
  const input = INPUT_TOKENS.exec(text)
  if (input !== null) facts.inputTokens = Number(input[1])
  const output = OUTPUT_TOKENS.exec(text)
  if (output !== null) facts.outputTokens = Number(output[1])
}
