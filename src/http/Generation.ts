import { Either } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import type { Dialect } from "../protocol/Canonical.js"
import { detectChatBody, wantsStream } from "../protocol/detect.js"
import { codecs } from "../protocol/Dialect.js"
import type { ClientDialect } from "./ErrorEnvelope.js"

/**
 * The generation routes and what each expects of its request: which dialect the body is in, and
 * the dialect errors are answered in.
 *
 *   POST /v1/chat/completions, /chat/completions   OpenAI chat (Claude- and Gemini-style bodies too, seed §6.2)
 *   POST /v1/responses, /responses                 OpenAI Responses
 *   POST /v1/messages                              Anthropic Messages
 *   POST /v1beta/models/{model}:generateContent    Gemini (and :streamGenerateContent)
 */
export interface GenerationRoute {
  readonly kind: "chat" | "native" | "gemini"
  readonly dialect: Dialect
  readonly errors: ClientDialect
}

const CHAT: GenerationRoute = { kind: "chat", dialect: "openai-chat", errors: "openai" }
const RESPONSES: GenerationRoute = { kind: "native", dialect: "openai-responses", errors: "openai" }
const MESSAGES: GenerationRoute = { kind: "native", dialect: "anthropic", errors: "anthropic" }
const GEMINI: GenerationRoute = { kind: "gemini", dialect: "gemini", errors: "gemini" }
const GEMINI_PREFIX = "/v1beta/models/"

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
    default:
      return path.startsWith(GEMINI_PREFIX) && path.length > GEMINI_PREFIX.length ? GEMINI : undefined
  }
}

/** One generation request as the gateway takes it. */
export interface Generation {
  readonly dialect: Dialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
}

const missingModel = () => new InvalidRequest({ message: "you must provide a model parameter", param: "model" })

const modelOf = (body: Record<string, unknown>): string | undefined =>
  typeof body.model === "string" && body.model.trim() !== "" ? body.model : undefined

/**
 * Reads the generation out of a route's JSON body (or the reason the body could not be read).
 * On the chat route, Claude-style and Gemini-style bodies are normalised to OpenAI chat here, so
 * everything after sees one dialect. A Gemini path naming no known method is refused first.
 */
export const toGeneration = <E>(
  route: GenerationRoute,
  path: string,
  read: Either.Either<Record<string, unknown>, E>,
  accept: string | undefined,
): Either.Either<Generation, InvalidRequest | E> => {
  if (route.kind === "gemini") {
    const tail = decodeURIComponent(path.slice(GEMINI_PREFIX.length))
    const colon = tail.lastIndexOf(":")
    const model = colon > 0 ? tail.slice(0, colon) : ""
    const action = colon > 0 ? tail.slice(colon + 1) : ""
    if (model.trim() === "" || (action !== "generateContent" && action !== "streamGenerateContent")) {
      return Either.left(new InvalidRequest({ message: `Unknown Gemini method '${tail}'` }))
    }
    return Either.map(read, (body) => ({ dialect: "gemini", body, model, stream: action === "streamGenerateContent" }))
  }
  if (Either.isLeft(read)) return Either.left(read.left)
  const body = read.right
  const model = modelOf(body)
  if (model === undefined) return Either.left(missingModel())
  const stream = wantsStream(body, accept)
  if (route.kind === "native") return Either.right({ dialect: route.dialect, body, model, stream })
  const detected = detectChatBody(body)
  if (detected === "openai-chat") return Either.right({ dialect: "openai-chat", body, model, stream })
  const canonical = codecs[detected].decodeRequest(body, { model, stream })
  if (Either.isLeft(canonical)) return Either.left(new InvalidRequest({ message: canonical.left.message }))
  const normalised = codecs["openai-chat"].encodeRequest(canonical.right, model, { stream }).body as Record<string, unknown>
  return Either.right({ dialect: "openai-chat", body: normalised, model, stream })
}
