/**
 * Embeddings as OpenAI (`POST /v1/embeddings`) and Gemini (`:embedContent`, `:batchEmbedContents`)
 * answer them, with deterministic vectors (`mockVector`) a test can recompute. Values are
 * multiples of 1/1024, exact in float32, so base64 and float answers compare equal.
 */

import { type Exchange, sendJson } from "./Exchange.js"
import { geminiErrorBody } from "./Gemini.js"
import { openAIErrorBody } from "./OpenAIErrors.js"

/** Dimensions of a vector when the request asks for none. */
export const MOCK_DIMENSIONS = 8

/** The mock's vector for an input (text, or token ids as OpenAI takes them). */
export const mockVector = (input: string | ReadonlyArray<number>, dimensions = MOCK_DIMENSIONS): Array<number> => {
  const text = typeof input === "string" ? input : input.join(",")
  let seed = 7
  for (let i = 0; i < text.length; i++) seed = (seed * 31 + text.charCodeAt(i)) % 1_000_003
  return Array.from({ length: dimensions }, (_, j) => (((seed + j * 97) % 2048) - 1024) / 1024)
}

const toBase64 = (vector: ReadonlyArray<number>) => Buffer.from(new Float32Array(vector).buffer).toString("base64")

const tokensOf = (input: string | ReadonlyArray<number>) =>
  typeof input === "string" ? Math.max(1, Math.ceil(input.length / 4)) : input.length

/** `POST /v1/embeddings`. */
export const handleOpenAiEmbeddings = (ex: Exchange, model: string): void => {
  const body = ex.json ?? {}
  const input = body.input
  const inputs: Array<string | Array<number>> =
    typeof input === "string" || (Array.isArray(input) && typeof input[0] === "number")
      ? [input]
      : Array.isArray(input)
        ? input
        : []
  if (inputs.length === 0) return sendJson(ex, 400, openAIErrorBody(400, "'$.input' is invalid."))
  const base64 = body.encoding_format === "base64"
  const tokens = inputs.reduce((sum, i) => sum + tokensOf(i), 0)
  sendJson(ex, 200, {
    object: "list",
    data: inputs.map((i, index) => {
      const vector = mockVector(i, body.dimensions)
      return { object: "embedding", index, embedding: base64 ? toBase64(vector) : vector }
    }),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
}

const textOf = (request: any): string =>
  (Array.isArray(request?.content?.parts) ? request.content.parts : []).map((p: any) => p?.text ?? "").join("\n")

/** `models/{model}:embedContent` and `:batchEmbedContents`; a batch request naming another model is refused, as Gemini does. */
export const handleGeminiEmbeddings = (ex: Exchange, model: string, batch: boolean): void => {
  const body = ex.json ?? {}
  if (!batch) return sendJson(ex, 200, { embedding: { values: mockVector(textOf(body), body.outputDimensionality) } })
  const requests: Array<any> = Array.isArray(body.requests) ? body.requests : []
  const stray = requests.find((r) => r?.model !== `models/${model}`)
  if (requests.length === 0 || stray !== undefined) {
    return sendJson(
      ex,
      400,
      geminiErrorBody(400, `Model '${stray?.model}' in the request does not match the model in the URL`),
    )
  }
  sendJson(ex, 200, { embeddings: requests.map((r) => ({ values: mockVector(textOf(r), r.outputDimensionality) })) })
}
