/**
 * Token counting in the two dialects that have it: Anthropic `POST /v1/messages/count_tokens`
 * (`{model, messages, system, tools, …}` → `{input_tokens}`) and Gemini
 * `POST /v1beta/models/{model}:countTokens` (`{contents}` or `{generateContentRequest}` →
 * `{totalTokens}`). Converting a count request between them goes through the canonical form like a
 * generation request; `promptText` is what an estimate tokenizes when no provider can count.
 */
import { Either } from "effect"
import type { CanonicalRequest, ProtocolError } from "./Canonical.js"
import { type ConversionLoss, conversionLoss } from "./ConversionLoss.js"
import { codecs } from "./Dialect.js"
import { geminiModelSegment } from "./gemini/Request.js"
import { isObject, type JsonObject, num } from "./Json.js"

/** The dialects with a token-counting endpoint. */
export type CountDialect = "anthropic" | "gemini"

/** What Anthropic's count_tokens takes of a Messages body (it refuses `max_tokens`, `stream` …). */
const ANTHROPIC_COUNT_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking"] as const

/** The generate request a Gemini countTokens body counts: its `generateContentRequest`, or the body itself (`{contents}`). */
const geminiGenerateRequest = (body: JsonObject): JsonObject =>
  isObject(body.generateContentRequest) ? body.generateContentRequest : body

/** The client's count request in canonical form: what is converted for another dialect, or estimated. */
export const decodeCountRequest = (
  dialect: CountDialect,
  body: JsonObject,
  model: string,
): Either.Either<CanonicalRequest, ProtocolError> =>
  dialect === "gemini"
    ? codecs.gemini.decodeRequest(geminiGenerateRequest(body), { model, stream: false })
    : codecs.anthropic.decodeRequest(body)

/**
 * What converting a count request out of its dialect would leave uncounted (ConversionLoss): the
 * features another dialect cannot express (`refused`), and the optional ones it drops.
 */
export const countLoss = (dialect: CountDialect, body: JsonObject, canonical: CanonicalRequest): ConversionLoss =>
  conversionLoss(dialect, dialect === "gemini" ? geminiGenerateRequest(body) : body, canonical.extra)

/** A count request for an upstream: its body and, for Gemini, its path under the API-version root. */
export interface CountRequest {
  readonly body: JsonObject
  readonly path?: string
}

const geminiCountPath = (model: string) => `models/${geminiModelSegment(model)}:countTokens`

/** Gemini's own form of a full request inside countTokens names its model as a resource. */
const geminiResource = (model: string) =>
  `models/${model.startsWith("models/") ? model.slice("models/".length) : model}`

const sameDialect = (dialect: CountDialect, body: JsonObject, upstreamModel: string): CountRequest => {
  if (dialect === "anthropic") return { body: { ...body, model: upstreamModel } }
  const inner = body.generateContentRequest
  return {
    body: isObject(inner)
      ? { ...body, generateContentRequest: { ...inner, model: geminiResource(upstreamModel) } }
      : body,
    path: geminiCountPath(upstreamModel),
  }
}

/**
 * The count request to send an upstream of `target` for a client request in `client`'s dialect:
 * the body as sent (only the model replaced) when both speak the same dialect, else converted —
 * for Anthropic only the fields count_tokens takes, for Gemini a whole `generateContentRequest`
 * (system instruction and tools included, which the bare `{contents}` form cannot carry).
 */
export const encodeCountRequest = (
  client: {
    readonly dialect: CountDialect
    readonly body: JsonObject
    readonly canonical: () => Either.Either<CanonicalRequest, ProtocolError>
  },
  target: CountDialect,
  upstreamModel: string,
): Either.Either<CountRequest, ProtocolError> => {
  if (client.dialect === target) return Either.right(sameDialect(target, client.body, upstreamModel))
  return Either.map(client.canonical(), (canonical) => {
    const encoded = codecs[target].encodeRequest(canonical, upstreamModel, { stream: false }).body
    if (target === "gemini") {
      return {
        body: { generateContentRequest: { model: geminiResource(upstreamModel), ...encoded } },
        path: geminiCountPath(upstreamModel),
      }
    }
    const body: Record<string, unknown> = {}
    for (const field of ANTHROPIC_COUNT_FIELDS) if (encoded[field] !== undefined) body[field] = encoded[field]
    return { body }
  })
}

/**
 * The count in an upstream's 2xx answer, or undefined when it carries none. Gemini's JSON leaves
 * out zero values, so an answer object without `totalTokens` (and without an error) counts 0.
 */
export const countOf = (dialect: CountDialect, json: unknown): number | undefined => {
  if (!isObject(json) || json.error !== undefined) return undefined
  const count =
    dialect === "anthropic"
      ? num(json.input_tokens)
      : (num(json.totalTokens) ?? (json.totalTokens === undefined ? 0 : undefined))
  return count !== undefined && Number.isInteger(count) && count >= 0 ? count : undefined
}

/** A count answer in `dialect`'s shape. */
export const countBody = (dialect: CountDialect, count: number): JsonObject =>
  dialect === "anthropic" ? { input_tokens: count } : { totalTokens: count }

/** What a tokenizer sees of a request: its texts, and how many messages and images it holds. */
export interface PromptText {
  readonly texts: ReadonlyArray<string>
  readonly messages: number
  readonly images: number
}

/**
 * The text of a request as a model reads it: the system prompt, every message's text, tool
 * calls (name and arguments), tool results and reasoning, and each tool definition (name,
 * description, JSON schema). Images are counted, not read.
 */
export const promptText = (request: CanonicalRequest): PromptText => {
  const texts: Array<string> = request.system.map((block) => block.text)
  let images = 0
  for (const message of request.messages) {
    for (const block of message.content) {
      switch (block.type) {
        case "text":
        case "reasoning":
          texts.push(block.text)
          break
        case "image":
          images++
          break
        case "tool_use":
          texts.push(block.name, typeof block.input === "string" ? block.input : JSON.stringify(block.input ?? {}))
          break
        case "tool_result":
          for (const part of block.content) {
            if (part.type === "text") texts.push(part.text)
            else images++
          }
          break
      }
    }
  }
  for (const tool of request.tools) texts.push(tool.name, tool.description ?? "", JSON.stringify(tool.parameters ?? {}))
  return { texts, messages: request.messages.length, images }
}
