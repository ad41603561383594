import { Either } from "effect"
import { decodeEmbeddings, type EmbeddingsClient, embeddingsOperation } from "../gateway/EmbeddingsOperation.js"
import type { Operation } from "../gateway/Exchange.js"
import { InvalidRequest } from "../gateway/GatewayError.js"
import type { Dialect } from "../protocol/Canonical.js"
import { conversionLoss } from "../protocol/ConversionLoss.js"
import { codecs } from "../protocol/Dialect.js"
import { detectChatBody, wantsStream } from "../protocol/detect.js"
import type { ClientDialect } from "./ErrorEnvelope.js"
import type { RoutableUpload } from "./MultipartUpload.js"
import {
  isPassThroughPath,
  isUploadPath,
  passThroughDefaultModel,
  passThroughOperationOf,
  uploadOperationOf,
} from "./PassThrough.js"

/**
 * The generation routes and what each expects of its request: which dialect the body is in, and
 * the dialect errors are answered in.
 *
 *   POST /v1/chat/completions, /chat/completions   OpenAI chat (Claude- and Gemini-style bodies too, protocol/detect)
 *   POST /v1/responses, /responses                 OpenAI Responses
 *   POST /v1/messages                              Anthropic Messages
 *   POST /v1beta/models/{model}:generateContent    Gemini (and :streamGenerateContent)
 *   POST /v1/messages/count_tokens                 Anthropic token count (TokenCounter, not the Gateway)
 *   POST /v1beta/models/{model}:countTokens        Gemini token count (likewise)
 *   POST /v1/embeddings, /embeddings               OpenAI embeddings
 *   POST /v1/completions, /v1/moderations, /v1/images/generations, /v1/audio/speech   pass-through (PassThrough)
 *   POST /v1/audio/transcriptions, /v1/audio/translations   pass-through multipart uploads (MultipartUpload)
 *   POST /v1beta/models/{model}:embedContent       Gemini embeddings (and :batchEmbedContents)
 */
export interface GenerationRoute {
  readonly kind: "chat" | "native" | "gemini" | "embeddings" | "passthrough" | "upload"
  readonly dialect: Dialect
  readonly errors: ClientDialect
  /** The route counts tokens instead of generating. */
  readonly count?: boolean
}

const CHAT: GenerationRoute = { kind: "chat", dialect: "openai-chat", errors: "openai" }
const RESPONSES: GenerationRoute = { kind: "native", dialect: "openai-responses", errors: "openai" }
const MESSAGES: GenerationRoute = { kind: "native", dialect: "anthropic", errors: "anthropic" }
const GEMINI: GenerationRoute = { kind: "gemini", dialect: "gemini", errors: "gemini" }
const COUNT_MESSAGES: GenerationRoute = { ...MESSAGES, count: true }
const COUNT_GEMINI: GenerationRoute = { ...GEMINI, count: true }
const EMBEDDINGS: GenerationRoute = { kind: "embeddings", dialect: "openai-chat", errors: "openai" }
const PASS_THROUGH: GenerationRoute = { kind: "passthrough", dialect: "openai-chat", errors: "openai" }
const UPLOAD: GenerationRoute = { kind: "upload", dialect: "openai-chat", errors: "openai" }
const GEMINI_PREFIX = "/v1beta/models/"
const COUNT_TOKENS = ":countTokens"

/** The generation route of `POST path`, if it is one. */
export const generationRouteOf = (method: string | undefined, path: string): GenerationRoute | undefined => {
  if (method !== "POST") return undefined
  switch (path) {
    case "/v1/chat/completions":
    case "/chat/completions":
      return CHAT
    case "/v1/responses":
    case "/responses":
      return RESPONSES
    case "/v1/messages":
      return MESSAGES
    case "/v1/messages/count_tokens":
      return COUNT_MESSAGES
    case "/v1/embeddings":
    case "/embeddings":
      return EMBEDDINGS
    default:
      if (isPassThroughPath(path)) return PASS_THROUGH
      if (isUploadPath(path)) return UPLOAD
      if (!path.startsWith(GEMINI_PREFIX) || path.length === GEMINI_PREFIX.length) return undefined
      return path.endsWith(COUNT_TOKENS) ? COUNT_GEMINI : GEMINI
  }
}

/**
 * The endpoint of a generation route for the request log and the metrics' `endpoint` label: the
 * path itself (one of the fixed routes above), a Gemini path with its model left out
 * (`/v1beta/models/*:generateContent`) and its method named only when the gateway serves it — a
 * label takes no value a client chooses.
 */
export const endpointOf = (route: GenerationRoute, path: string): string => {
  if (route.kind !== "gemini") return path
  const action = path.slice(path.lastIndexOf(":") + 1)
  return action === "countTokens" || GEMINI_METHODS.has(action) ? `${GEMINI_PREFIX}*:${action}` : `${GEMINI_PREFIX}*`
}

/** One generation request as the gateway takes it. */
export interface Generation {
  readonly dialect: Dialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
  /** Set when the request is not generation (embeddings). */
  readonly operation?: Operation
}

const missingModel = () => new InvalidRequest({ message: "you must provide a model parameter", param: "model" })

const modelOf = (body: Record<string, unknown>): string | undefined =>
  typeof body.model === "string" && body.model.trim() !== "" ? body.model : undefined

/** The longest model id the edge accepts. */
export const MODEL_ID_MAX_LENGTH = 256

/**
 * Model ids as providers spell them: letters, digits and `. _ - / : @ + ~` (e.g.
 * `accounts/fireworks/models/llama-v3p1-8b-instruct`, `qwen/qwen-2.5:free`,
 * `claude-3-5-sonnet@20240620`, `anthropic.claude-3-5-sonnet-20240620-v1:0`). Nothing that could
 * end a header line, start a query or fragment, or escape a path: no whitespace, control
 * characters, `%`, `?`, `#`, `\` or anything outside ASCII.
 */
const MODEL_ID = /^[A-Za-z0-9._\-/:@+~]+$/

/** A short, visibly escaped excerpt of client input for an error message. */
export const excerpt = (text: string, max = 40): string =>
  JSON.stringify(text.length > max ? text.slice(0, max) : text) + (text.length > max ? "…" : "")

/**
 * Why `model` is not acceptable as a model id, or undefined when it is. Besides the character
 * set and length, no `/`-separated segment may be empty, `.` or `..`: a model id is never allowed
 * to change an upstream path (a Gemini upstream takes it in its URL).
 */
export const modelIdProblem = (model: string): string | undefined => {
  if (model.length > MODEL_ID_MAX_LENGTH) return `Invalid model: longer than ${MODEL_ID_MAX_LENGTH} characters`
  if (!MODEL_ID.test(model)) {
    return `Invalid model ${excerpt(model)}: a model id is letters, digits and . _ - / : @ + ~ only`
  }
  if (model.includes("/")) {
    for (const segment of model.split("/")) {
      if (segment === "" || segment === "." || segment === "..") {
        return `Invalid model ${excerpt(model)}: empty, '.' and '..' path segments are not allowed`
      }
    }
  } else if (model === "." || model === "..") {
    return `Invalid model ${excerpt(model)}: '.' and '..' are not model ids`
  }
  return undefined
}

const invalidModel = (problem: string) =>
  new InvalidRequest({ message: problem, param: "model", code: "invalid_model" })

/** `%2F` (`/`) and `%5C` (`\`) in a Gemini path: a model segment may not hide a path separator. */
const ESCAPED_SEPARATOR = /%(2f|5c)/i

/** The Gemini methods the gateway serves. */
type GeminiMethod = "generateContent" | "streamGenerateContent" | "embedContent" | "batchEmbedContents" | "countTokens"
/** On the generation route (`:countTokens` has its own). */
const GEMINI_METHODS: ReadonlySet<string> = new Set<GeminiMethod>([
  "generateContent",
  "streamGenerateContent",
  "embedContent",
  "batchEmbedContents",
])

/**
 * The model and method of a Gemini path's tail (`{model}:{method}`). The model may carry a
 * provider prefix with a literal `/` (`gem/gemini-2.5-flash`), but never an escaped one; a
 * malformed `%` escape is a 400, as is a model outside the allowed set.
 */
const geminiTarget = (
  tail: string,
  route: GenerationRoute,
): Either.Either<{ readonly model: string; readonly method: GeminiMethod }, InvalidRequest> => {
  if (ESCAPED_SEPARATOR.test(tail)) {
    return Either.left(invalidModel("Invalid model in the path: an escaped '/' or '\\' (%2F, %5C) is not allowed"))
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(tail)
  } catch {
    return Either.left(invalidModel(`Invalid model in the path ${excerpt(tail)}: a malformed '%' escape`))
  }
  const colon = decoded.lastIndexOf(":")
  const model = colon > 0 ? decoded.slice(0, colon) : ""
  const action = colon > 0 ? decoded.slice(colon + 1) : ""
  const known = route.count === true ? action === "countTokens" : GEMINI_METHODS.has(action)
  if (model.trim() === "" || !known) {
    return Either.left(new InvalidRequest({ message: `Unknown Gemini method ${excerpt(decoded, 80)}` }))
  }
  const problem = modelIdProblem(model)
  if (problem !== undefined) return Either.left(invalidModel(problem))
  return Either.right({ model, method: action as GeminiMethod })
}

/** An embeddings request: its body checked (a 400 naming the field at fault) and wrapped as the walk's operation. */
const embeddingsGeneration = (
  client: EmbeddingsClient,
  body: Record<string, unknown>,
  model: string,
): Either.Either<Generation, InvalidRequest> => {
  const decoded = decodeEmbeddings(client, body)
  if (Either.isLeft(decoded)) {
    const { message, param } = decoded.left
    return Either.left(new InvalidRequest({ message, ...(param !== undefined ? { param } : {}) }))
  }
  const dialect = client === "openai" ? "openai-chat" : "gemini"
  return Either.right({
    dialect,
    body,
    model,
    stream: false,
    operation: embeddingsOperation(client, body, decoded.right),
  })
}

/**
 * A multipart upload as the gateway takes it, once it is routable: its model checked like every
 * model id (a 400 naming it), its body made per candidate.
 */
export const uploadGeneration = (path: string, upload: RoutableUpload): Either.Either<Generation, InvalidRequest> => {
  const model = upload.model
  if (model === undefined)
    return Either.left(invalidModel(`Invalid model: longer than ${MODEL_ID_MAX_LENGTH} characters`))
  if (model.trim() === "") return Either.left(missingModel())
  const problem = modelIdProblem(model)
  if (problem !== undefined) return Either.left(invalidModel(problem))
  return Either.right({
    dialect: "openai-chat",
    body: { model },
    model,
    stream: false,
    operation: uploadOperationOf(path, upload.bodyFor, upload.stream),
  })
}

/**
 * Reads the generation out of a route's JSON body (or the reason the body could not be read).
 * On the chat route, Claude-style and Gemini-style bodies are normalised to OpenAI chat here, so
 * everything after sees one dialect. A Gemini path naming no known method is refused first.
 * The model id is checked here, at the edge (`modelIdProblem`), and nothing in here can throw:
 * a body the codecs cannot take is a 400, never a defect.
 */
export const toGeneration = <E>(
  route: GenerationRoute,
  path: string,
  read: Either.Either<Record<string, unknown>, E>,
  accept: string | undefined,
): Either.Either<Generation, InvalidRequest | E> => {
  try {
    return readGeneration(route, path, read, accept)
  } catch (error) {
    const reason = error instanceof RangeError ? "it is nested too deeply" : "it is not in the expected shape"
    return Either.left(new InvalidRequest({ message: `The request body could not be read: ${reason}` }))
  }
}

const readGeneration = <E>(
  route: GenerationRoute,
  path: string,
  read: Either.Either<Record<string, unknown>, E>,
  accept: string | undefined,
): Either.Either<Generation, InvalidRequest | E> => {
  if (route.kind === "gemini") {
    const target = geminiTarget(path.slice(GEMINI_PREFIX.length), route)
    if (Either.isLeft(target)) return Either.left(target.left)
    const { model, method } = target.right
    if (Either.isLeft(read)) return Either.left(read.left)
    if (method === "embedContent" || method === "batchEmbedContents")
      return embeddingsGeneration(method, read.right, model)
    return Either.right({ dialect: "gemini", body: read.right, model, stream: method === "streamGenerateContent" })
  }
  if (Either.isLeft(read)) return Either.left(read.left)
  const body = read.right
  const model = modelOf(body) ?? (route.kind === "passthrough" ? passThroughDefaultModel(path) : undefined)
  if (model === undefined) return Either.left(missingModel())
  const problem = modelIdProblem(model)
  if (problem !== undefined) return Either.left(invalidModel(problem))
  if (route.kind === "embeddings") return embeddingsGeneration("openai", body, model)
  if (route.kind === "passthrough") {
    return Either.map(
      passThroughOperationOf(path, body),
      (operation): Generation => ({ dialect: "openai-chat", body, model, stream: false, operation }),
    )
  }
  const stream = route.count !== true && wantsStream(body, accept)
  if (route.kind === "native") return Either.right({ dialect: route.dialect, body, model, stream })
  const detected = detectChatBody(body)
  if (detected === "openai-chat") return Either.right({ dialect: "openai-chat", body, model, stream })
  const canonical = codecs[detected].decodeRequest(body, { model, stream })
  if (Either.isLeft(canonical)) return Either.left(new InvalidRequest({ message: canonical.left.message }))
  const { refused } = conversionLoss(detected, body, canonical.right.extra)
  if (refused.length > 0) {
    const message = `This ${detected} body uses ${refused.join(", ")}, which OpenAI chat completions cannot express; send it to the ${detected} route instead`
    return Either.left(new InvalidRequest({ message, code: "unsupported_feature" }))
  }
  const normalised = codecs["openai-chat"].encodeRequest(canonical.right, model, { stream }).body as Record<
    string,
    unknown
  >
  return Either.right({ dialect: "openai-chat", body: normalised, model, stream })
}
