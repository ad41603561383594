/** OpenAI `/v1/embeddings` ⇄ canonical embeddings. */
import { Either } from "effect"
import { ProtocolError } from "../Canonical.js"
import { asArray, isObject, type JsonObject, num } from "../Json.js"
import {
  type EmbeddingInput,
  type EmbeddingRequest,
  type EmbeddingResult,
  MAX_EMBEDDING_INPUTS,
  numberArray,
  vectorFromBase64,
  vectorToBase64,
} from "./Embedding.js"

const KNOWN = new Set(["model", "input", "dimensions", "encoding_format", "user"])
/** Largest `dimensions` accepted (real models give at most a few thousand). */
const MAX_DIMENSIONS = 65_536

const invalid = (message: string, param: string) =>
  Either.left(new ProtocolError({ dialect: "openai-chat", message, param }))

const isTokenIds = (value: unknown): value is ReadonlyArray<number> =>
  Array.isArray(value) && value.length > 0 && value.every((n) => Number.isInteger(n) && n >= 0 && n <= 0x7fffffff)

const INPUT_SHAPE =
  "'input' must be a non-empty string, an array of non-empty strings, an array of token ids or an array of token id arrays"

/** The inputs of `input`, and whether it was a single one. */
const inputsOf = (
  input: unknown,
): Either.Either<{ inputs: ReadonlyArray<EmbeddingInput>; single: boolean }, ProtocolError> => {
  if (typeof input === "string")
    return input === ""
      ? invalid("'input' cannot be an empty string", "input")
      : Either.right({ inputs: [input], single: true })
  if (!Array.isArray(input) || input.length === 0) return invalid(INPUT_SHAPE, "input")
  if (input.length > MAX_EMBEDDING_INPUTS)
    return invalid(`'input' may hold at most ${MAX_EMBEDDING_INPUTS} inputs, not ${input.length}`, "input")
  if (typeof input[0] === "number")
    return isTokenIds(input) ? Either.right({ inputs: [input], single: true }) : invalid(INPUT_SHAPE, "input")
  const strings = input.every((s) => typeof s === "string" && s !== "")
  if (strings || input.every(isTokenIds))
    return Either.right({ inputs: input as ReadonlyArray<EmbeddingInput>, single: false })
  return invalid(INPUT_SHAPE, "input")
}

/** A client's `/v1/embeddings` body, checked: the 400 names the field at fault. */
export const decodeRequest = (body: JsonObject): Either.Either<EmbeddingRequest, ProtocolError> => {
  if (body.input === undefined) return invalid("you must provide an 'input' parameter", "input")
  const inputs = inputsOf(body.input)
  if (Either.isLeft(inputs)) return Either.left(inputs.left)
  const dimensions = body.dimensions
  if (
    dimensions !== undefined &&
    !(Number.isInteger(dimensions) && (dimensions as number) >= 1 && (dimensions as number) <= MAX_DIMENSIONS)
  ) {
    return invalid(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}`, "dimensions")
  }
  const encoding = body.encoding_format ?? "float"
  if (encoding !== "float" && encoding !== "base64")
    return invalid("'encoding_format' must be 'float' or 'base64'", "encoding_format")
  if (body.user !== undefined && typeof body.user !== "string") return invalid("'user' must be a string", "user")
  return Either.right({
    ...inputs.right,
    dimensions: dimensions as number | undefined,
    encoding,
    untranslatable: Object.keys(body).filter((k) => !KNOWN.has(k)),
  })
}

/** The request for an OpenAI-protocol upstream, converted from another dialect's. */
export const encodeRequest = (request: EmbeddingRequest, upstreamModel: string): JsonObject => ({
  model: upstreamModel,
  input: request.single ? request.inputs[0] : request.inputs,
  ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
  encoding_format: "float",
})

/** Prompt tokens of an OpenAI embeddings answer, when it reports them. */
export const promptTokensOf = (json: JsonObject): number | undefined => {
  const usage = json.usage
  return isObject(usage) ? num(usage.prompt_tokens) : undefined
}

/** An upstream's 2xx body is an embeddings list (a passthrough answer is not decoded further). */
export const isEmbeddingList = (json: JsonObject): boolean => Array.isArray(json.data)

/** An OpenAI embeddings answer (float or base64 vectors), in input order; or why it is unusable. */
export const decodeResponse = (json: JsonObject, expected: number): Either.Either<EmbeddingResult, string> => {
  const data = asArray(json.data)
  if (data.length !== expected) return Either.left(`upstream answered ${data.length} embeddings for ${expected} inputs`)
  const vectors = new Array<ReadonlyArray<number>>(expected)
  for (const item of data) {
    const entry = isObject(item) ? item : {}
    const index = entry.index
    const vector =
      typeof entry.embedding === "string" ? vectorFromBase64(entry.embedding) : numberArray(entry.embedding)
    if (
      !Number.isInteger(index) ||
      (index as number) < 0 ||
      (index as number) >= expected ||
      vectors[index as number] !== undefined ||
      vector === undefined
    ) {
      return Either.left("upstream answered an embedding list that is not one vector per input")
    }
    vectors[index as number] = vector
  }
  return Either.right({ vectors, promptTokens: promptTokensOf(json) })
}

/** The answer an OpenAI client gets, converted from another dialect's (`model`: the name it asked for). */
export const encodeResponse = (
  result: EmbeddingResult,
  request: EmbeddingRequest,
  model: string,
  promptTokens: number,
) => ({
  object: "list" as const,
  data: result.vectors.map((vector, index) => ({
    object: "embedding" as const,
    index,
    embedding: request.encoding === "base64" ? vectorToBase64(vector) : vector,
  })),
  model,
  usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
})
