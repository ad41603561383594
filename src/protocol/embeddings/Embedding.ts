/**
 * Embeddings in canonical terms: what a client asks to embed and the vectors it gets back, the
 * same for OpenAI's `/v1/embeddings` and Gemini's `:embedContent` / `:batchEmbedContents`.
 */
import { Either, Encoding } from "effect"

/** One input: text, or (OpenAI only) token ids. */
export type EmbeddingInput = string | ReadonlyArray<number>

export interface EmbeddingRequest {
  readonly inputs: ReadonlyArray<EmbeddingInput>
  /** The client sent one input, not a list (a Gemini client is answered with `embedding`, not `embeddings`). */
  readonly single: boolean
  /** OpenAI `dimensions`, Gemini `outputDimensionality`. */
  readonly dimensions: number | undefined
  /** How the client wants the vectors: OpenAI `encoding_format`; a Gemini client always gets floats. */
  readonly encoding: "float" | "base64"
  /**
   * What the client's dialect says that the other one cannot (Gemini `taskType`, `title`, a
   * non-text part, an unknown field): a conversion refuses the request naming these, never
   * drops them. Passthrough forwards them.
   */
  readonly untranslatable: ReadonlyArray<string>
}

export interface EmbeddingResult {
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  /** As the upstream reported them; `undefined` when it reports none. */
  readonly promptTokens: number | undefined
}

/** Most inputs in one request (OpenAI's documented limit). */
export const MAX_EMBEDDING_INPUTS = 2048

/**
 * The prompt tokens of a request whose upstream reports none (Gemini): an estimate — token ids
 * count one each, text about four characters per token.
 */
export const estimatePromptTokens = (inputs: ReadonlyArray<EmbeddingInput>): number => {
  let tokens = 0
  for (const input of inputs) tokens += typeof input === "string" ? Math.ceil(input.length / 4) : input.length
  return tokens
}

/** A vector as OpenAI's `encoding_format: "base64"` gives it: little-endian float32, base64. */
export const vectorToBase64 = (vector: ReadonlyArray<number>): string => {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true)
  return Encoding.encodeBase64(bytes)
}

/** The reverse of `vectorToBase64`, or undefined when the text is not whole float32s in base64. */
export const vectorFromBase64 = (text: string): ReadonlyArray<number> | undefined => {
  const decoded = Encoding.decodeBase64(text)
  if (Either.isLeft(decoded) || decoded.right.length % 4 !== 0) return undefined
  const bytes = decoded.right
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const vector = new Array<number>(bytes.length / 4)
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true)
  return vector
}

/** A JSON array of finite numbers, or undefined. */
export const numberArray = (value: unknown): ReadonlyArray<number> | undefined => {
  if (!Array.isArray(value)) return undefined
  for (const n of value) if (typeof n !== "number" || !Number.isFinite(n)) return undefined
  return value as ReadonlyArray<number>
}
