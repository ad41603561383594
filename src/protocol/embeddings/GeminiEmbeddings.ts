/** Gemini `:embedContent` / `:batchEmbedContents` ⇄ canonical embeddings. The model lives in the URL. */
import { Either } from "effect"
import { ProtocolError } from "../Canonical.js"
import { geminiModelSegment } from "../gemini/Request.js"
import { asArray, isObject, type JsonObject, num } from "../Json.js"
import { type EmbeddingRequest, type EmbeddingResult, MAX_EMBEDDING_INPUTS, numberArray } from "./Embedding.js"

export type GeminiEmbedMethod = "embedContent" | "batchEmbedContents"

/** Most requests Gemini takes in one `batchEmbedContents`. */
export const GEMINI_MAX_BATCH = 100

const KNOWN = new Set([
  "model",
  "content",
  "taskType",
  "task_type",
  "title",
  "outputDimensionality",
  "output_dimensionality",
])

const invalid = (message: string) => Either.left(new ProtocolError({ dialect: "gemini", message }))

interface DecodedContent {
  readonly text: string
  readonly dimensions: number | undefined
  readonly untranslatable: ReadonlyArray<string>
}

/** One `EmbedContentRequest`: its text (text parts joined by newlines) and what has no OpenAI form. */
const decodeOne = (request: unknown, where: string): Either.Either<DecodedContent, ProtocolError> => {
  if (!isObject(request)) return invalid(`${where} must be an object`)
  const parts = isObject(request.content) ? asArray(request.content.parts) : []
  if (parts.length === 0) return invalid(`${where}content.parts must hold at least one part`)
  const texts: Array<string> = []
  const untranslatable = Object.keys(request).filter((k) => !KNOWN.has(k) || k.startsWith("task") || k === "title")
  for (const part of parts) {
    if (isObject(part) && typeof part.text === "string") texts.push(part.text)
    else untranslatable.push(`content.parts[].${isObject(part) ? (Object.keys(part)[0] ?? "{}") : typeof part}`)
  }
  const dimensions = request.outputDimensionality ?? request.output_dimensionality
  if (dimensions !== undefined && !(Number.isInteger(dimensions) && (dimensions as number) >= 1)) {
    return invalid(`${where}outputDimensionality must be a positive integer`)
  }
  return Either.right({ text: texts.join("\n"), dimensions: dimensions as number | undefined, untranslatable })
}

/** A Gemini client's body for `method`, checked. */
export const decodeRequest = (
  body: JsonObject,
  method: GeminiEmbedMethod,
): Either.Either<EmbeddingRequest, ProtocolError> => {
  const single = method === "embedContent"
  const requests = single ? [body] : asArray(body.requests)
  if (requests.length === 0) return invalid("requests must hold at least one request")
  if (requests.length > MAX_EMBEDDING_INPUTS)
    return invalid(`requests may hold at most ${MAX_EMBEDDING_INPUTS} requests`)
  const decoded: Array<DecodedContent> = []
  for (let i = 0; i < requests.length; i++) {
    const one = decodeOne(requests[i], single ? "" : `requests[${i}].`)
    if (Either.isLeft(one)) return Either.left(one.left)
    decoded.push(one.right)
  }
  const dimensions = decoded[0]!.dimensions
  const untranslatable = new Set(decoded.flatMap((d) => d.untranslatable))
  if (decoded.some((d) => d.dimensions !== dimensions))
    untranslatable.add("outputDimensionality (differing between requests)")
  if (!single) for (const k of Object.keys(body)) if (k !== "requests") untranslatable.add(k)
  return Either.right({
    inputs: decoded.map((d) => d.text),
    single,
    dimensions,
    encoding: "float",
    untranslatable: [...untranslatable],
  })
}

const upstreamPath = (model: string, method: GeminiEmbedMethod) => `models/${geminiModelSegment(model)}:${method}`

const modelName = (model: string) => `models/${model.startsWith("models/") ? model.slice("models/".length) : model}`

/** A Gemini client's body for a Gemini upstream: forwarded as sent, with only the model names replaced. */
export const passthroughRequest = (
  body: JsonObject,
  method: GeminiEmbedMethod,
  upstreamModel: string,
): { path: string; body: JsonObject } => ({
  path: upstreamPath(upstreamModel, method),
  body:
    method === "embedContent"
      ? body.model === undefined
        ? body
        : { ...body, model: modelName(upstreamModel) }
      : {
          ...body,
          requests: asArray(body.requests).map((r) => (isObject(r) ? { ...r, model: modelName(upstreamModel) } : r)),
        },
})

/**
 * The request for a Gemini upstream, converted from another dialect's; or why it cannot be:
 * Gemini embeds text only, at most `GEMINI_MAX_BATCH` inputs at a time.
 */
export const encodeRequest = (
  request: EmbeddingRequest,
  upstreamModel: string,
): Either.Either<{ path: string; body: JsonObject }, ProtocolError> => {
  if (request.inputs.some((input) => typeof input !== "string")) {
    return Either.left(
      new ProtocolError({
        dialect: "openai-chat",
        message: "token ids in 'input' can only be embedded by an OpenAI-protocol provider; send text",
        param: "input",
      }),
    )
  }
  if (request.inputs.length > GEMINI_MAX_BATCH) {
    return Either.left(
      new ProtocolError({
        dialect: "openai-chat",
        message: `a Gemini provider embeds at most ${GEMINI_MAX_BATCH} inputs per request, not ${request.inputs.length}`,
        param: "input",
      }),
    )
  }
  const dimensions = request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }
  const content = (text: string) => ({ content: { parts: [{ text }] }, ...dimensions })
  if (request.single)
    return Either.right({
      path: upstreamPath(upstreamModel, "embedContent"),
      body: content(request.inputs[0] as string),
    })
  const model = modelName(upstreamModel)
  return Either.right({
    path: upstreamPath(upstreamModel, "batchEmbedContents"),
    body: { requests: request.inputs.map((text) => ({ model, ...content(text as string) })) },
  })
}

/** Prompt tokens of a Gemini embeddings answer, when it reports them (`usageMetadata`). */
export const promptTokensOf = (json: JsonObject): number | undefined =>
  isObject(json.usageMetadata) ? num(json.usageMetadata.promptTokenCount) : undefined

/** A Gemini embeddings answer (`embedding` or `embeddings`) is what it should be. */
export const isEmbeddingAnswer = (json: JsonObject): boolean =>
  isObject(json.embedding) || Array.isArray(json.embeddings)

/** A Gemini embeddings answer as vectors in input order; or why it is unusable. */
export const decodeResponse = (json: JsonObject, expected: number): Either.Either<EmbeddingResult, string> => {
  const items = isObject(json.embedding) ? [json.embedding] : asArray(json.embeddings)
  if (items.length !== expected)
    return Either.left(`upstream answered ${items.length} embeddings for ${expected} inputs`)
  const vectors: Array<ReadonlyArray<number>> = []
  for (const item of items) {
    const values = isObject(item) ? numberArray(item.values) : undefined
    if (values === undefined) return Either.left("upstream answered an embedding without numeric values")
    vectors.push(values)
  }
  return Either.right({ vectors, promptTokens: promptTokensOf(json) })
}

/** The answer a Gemini client gets, converted from another dialect's. */
export const encodeResponse = (result: EmbeddingResult, request: EmbeddingRequest): JsonObject =>
  request.single
    ? { embedding: { values: result.vectors[0] ?? [] } }
    : { embeddings: result.vectors.map((values) => ({ values })) }
