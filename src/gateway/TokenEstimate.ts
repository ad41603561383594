import { Effect } from "effect"
import type { PromptText } from "../protocol/TokenCount.js"

/** The encoding estimates are made with (GPT-4o's; no provider publishes Claude's or Gemini's tokenizer). */
export const ESTIMATE_ENCODING = "o200k_base"

/** Tokens a message costs besides its text (role and separators), as OpenAI's chat format counts them. */
const PER_MESSAGE = 3
/** The reply's priming tokens, likewise. */
const PER_REQUEST = 3
/** An image, whatever its size: Anthropic's figure for a full-size image (about 1.15 megapixels). */
export const PER_IMAGE = 1_600
/** Text tokenized exactly; past it the rest is extrapolated at the ratio measured so far (bounded time). */
export const EXACT_CHARS = 1_000_000
/**
 * Texts are tokenized in batches of about this many characters (joined by newlines, as a prompt
 * separates them), the fiber yielding to others after each (about 25 ms of work): a request of a
 * few huge texts or of very many tiny ones costs the same per character.
 */
const BATCH_CHARS = 64 * 1024

type CountTokens = (text: string) => number

/**
 * A token estimate for a request no provider counted: `gpt-tokenizer`'s o200k_base encoding over
 * the request's text (`promptText`), plus the chat format's per-message overhead and a fixed
 * figure per image. The encoding (tens of MB of tables) is loaded on first use, not at start.
 */
export const makeTokenEstimator = () => {
  let loaded: Promise<CountTokens> | undefined
  const tokenizer = Effect.promise(
    () => (loaded ??= import("gpt-tokenizer/encoding/o200k_base").then((m) => m.countTokens)),
  )

  return Effect.fnUntraced(function* (prompt: PromptText) {
    const countTokens = yield* tokenizer
    const batch: Array<string> = []
    let batchChars = 0
    let exact = 0
    let tokens = 0
    let total = 0
    for (const text of prompt.texts) {
      total += text.length
      for (let at = 0; at < text.length && exact < EXACT_CHARS; at += BATCH_CHARS) {
        const slice = text.slice(at, at + Math.min(BATCH_CHARS, EXACT_CHARS - exact))
        batch.push(slice)
        batchChars += slice.length
        exact += slice.length
        if (batchChars >= BATCH_CHARS) {
          tokens += countTokens(batch.join("\n"))
          batch.length = batchChars = 0
          yield* Effect.yieldNow()
        }
      }
    }
    if (batch.length > 0) tokens += countTokens(batch.join("\n"))
    const extrapolated = total > exact ? Math.ceil(((total - exact) * tokens) / Math.max(1, exact)) : 0
    return tokens + extrapolated + PER_REQUEST + PER_MESSAGE * prompt.messages + PER_IMAGE * prompt.images
  })
}
