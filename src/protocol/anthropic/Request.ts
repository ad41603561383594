/** Anthropic Messages request ⇄ canonical request. */
import { Either, Schema } from "effect"
import {
  type CanonicalRequest,
  type ContentBlock,
  type ImageBlock,
  type Message,
  ProtocolError,
  type TextBlock,
  type Tool,
  type ToolChoice,
} from "../Canonical.js"
import { asArray, asObject, compact, isObject, type JsonObject, num, parseJson, str, unknownFields } from "../Json.js"
import { decodeEnvelope, OpenRecord } from "../RequestSchema.js"

const Envelope = Schema.Struct({ model: Schema.String }, OpenRecord)

const KNOWN = new Set([
  "model",
  "messages",
  "system",
  "max_tokens",
  "max_tokens_to_sample",
  "prompt",
  "stop_sequences",
  "stop",
  "temperature",
  "top_p",
  "top_k",
  "stream",
  "tools",
  "tool_choice",
  "thinking",
  "metadata",
  "anthropic_version",
])

const decodeImage = (o: JsonObject): ImageBlock | undefined => {
  const src = asObject(o.source)
  if (src.type === "base64" && typeof src.data === "string")
    return { type: "image", source: { kind: "base64", mediaType: str(src.media_type) ?? "image/png", data: src.data } }
  if (src.type === "url" && typeof src.url === "string") return { type: "image", source: { kind: "url", url: src.url } }
  return undefined
}

/** System given as a string or a list of text blocks (block text is kept as text, never the blocks' JSON). */
export const decodeSystem = (u: unknown): Array<TextBlock> => {
  if (typeof u === "string") return u.trim() === "" ? [] : [{ type: "text", text: u }]
  const out: Array<TextBlock> = []
  for (const b of asArray(u)) {
    if (typeof b === "string") out.push({ type: "text", text: b })
    else if (isObject(b) && typeof b.text === "string") out.push({ type: "text", text: b.text })
  }
  return out
}

export const decodeBlocks = (content: unknown): Array<ContentBlock> => {
  if (typeof content === "string") return [{ type: "text", text: content }]
  const out: Array<ContentBlock> = []
  for (const b0 of asArray(content)) {
    const b = asObject(b0)
    switch (b.type) {
      case "text":
        if (typeof b.text === "string") out.push({ type: "text", text: b.text })
        break
      case "image": {
        const img = decodeImage(b)
        if (img) out.push(img)
        break
      }
      case "tool_use":
        out.push({ type: "tool_use", id: str(b.id) ?? "", name: str(b.name) ?? "", input: b.input ?? {} })
        break
      case "tool_result": {
        const inner =
          typeof b.content === "string" ? [{ type: "text" as const, text: b.content }] : decodeBlocks(b.content)
        out.push({
          type: "tool_result",
          toolUseId: str(b.tool_use_id) ?? "",
          content: inner.filter((x): x is TextBlock | ImageBlock => x.type === "text" || x.type === "image"),
          isError: b.is_error === true,
        })
        break
      }
      case "thinking": {
        const sig = str(b.signature)
        out.push(
          compact({
            type: "reasoning" as const,
            text: str(b.thinking) ?? "",
            signature: sig ? { origin: "anthropic" as const, value: sig } : undefined,
          }),
        )
        break
      }
      case "redacted_thinking":
        out.push({
          type: "reasoning",
          text: "",
          redacted: true,
          signature: { origin: "anthropic", value: str(b.data) ?? "" },
        })
        break
    }
  }
  return out
}

const decodeToolChoice = (u: unknown): ToolChoice | undefined => {
  const o = asObject(u)
  switch (o.type) {
    case "auto":
    case "none":
      return { type: o.type }
    case "any":
      return { type: "required" }
    case "tool":
      return typeof o.name === "string" ? { type: "tool", name: o.name } : undefined
    default:
      return undefined
  }
}

/** Legacy Text Completions prompt ("\n\nHuman: … \n\nAssistant:") → messages. */
const decodeLegacyPrompt = (prompt: string): Array<Message> => {
  const out: Array<Message> = []
  const re = /(?:^|\n\n)(Human|Assistant):/g
  const marks = [...prompt.matchAll(re)]
  if (marks.length === 0)
    return prompt.trim() === "" ? [] : [{ role: "user", content: [{ type: "text", text: prompt.trim() }] }]
  marks.forEach((m, i) => {
    const from = m.index! + m[0].length
    const to = i + 1 < marks.length ? marks[i + 1]!.index! : prompt.length
    const text = prompt.slice(from, to).trim()
    if (text !== "") out.push({ role: m[1] === "Human" ? "user" : "assistant", content: [{ type: "text", text }] })
  })
  return out
}

export const decodeRequest = (body: unknown): Either.Either<CanonicalRequest, ProtocolError> =>
  Either.flatMap(decodeEnvelope("anthropic", Envelope, body), (b) => {
    let messages: Array<Message>
    if (Array.isArray(b.messages)) {
      messages = []
      for (const [i, m] of b.messages.entries()) {
        if (!isObject(m))
          return Either.left(
            new ProtocolError({
              dialect: "anthropic",
              message: `messages.${i}: must be an object`,
              param: `messages.${i}`,
            }),
          )
        const role = m.role ?? "user"
        if (role !== "user" && role !== "assistant")
          return Either.left(
            new ProtocolError({
              dialect: "anthropic",
              message: `messages.${i}.role: must be 'user' or 'assistant'`,
              param: `messages.${i}.role`,
            }),
          )
        messages.push({ role, content: decodeBlocks(m.content) })
      }
    } else if (typeof b.prompt === "string") messages = decodeLegacyPrompt(b.prompt)
    else
      return Either.left(
        new ProtocolError({ dialect: "anthropic", message: "messages: Field required", param: "messages" }),
      )
    const tools: Array<Tool> = []
    for (const t0 of asArray(b.tools)) {
      const t = asObject(t0)
      // Server tools (web_search_…, bash_…) have a versioned `type` and no input_schema: they only make sense to Anthropic.
      if (typeof t.name === "string" && (t.type === undefined || t.type === "custom"))
        tools.push(
          compact({
            name: t.name,
            description: str(t.description),
            parameters: t.input_schema ?? { type: "object", properties: {} },
          }),
        )
    }
    const tc = asObject(b.tool_choice)
    const thinking = asObject(b.thinking)
    const stop = asArray(b.stop_sequences ?? b.stop).filter((s): s is string => typeof s === "string")
    const userId = str(asObject(b.metadata).user_id)
    return Either.right(
      compact({
        model: b.model,
        system: decodeSystem(b.system),
        messages,
        tools,
        toolChoice: decodeToolChoice(b.tool_choice),
        parallelToolCalls: tc.disable_parallel_tool_use === true ? false : undefined,
        maxTokens: num(b.max_tokens) ?? num(b.max_tokens_to_sample),
        temperature: num(b.temperature),
        topP: num(b.top_p),
        topK: num(b.top_k),
        stop: typeof b.stop === "string" ? [b.stop] : stop,
        reasoning: thinking.type === "enabled" ? compact({ budgetTokens: num(thinking.budget_tokens) }) : undefined,
        stream: b.stream === true,
        streamUsage: true,
        user: userId,
        source: "anthropic" as const,
        extra: unknownFields(b, KNOWN),
      }) as CanonicalRequest,
    )
  })

export interface AnthropicEncodeOptions {
  readonly stream: boolean
  /** Anthropic requires max_tokens; used when the client gave none. */
  readonly defaultMaxTokens?: number
}

const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24576 }

const encodeInput = (input: unknown): unknown => {
  if (isObject(input)) return input
  if (typeof input === "string") {
    const r = parseJson(input)
    if (r.ok && isObject(r.value)) return r.value
  }
  return {}
}

export const encodeImage = (b: ImageBlock): JsonObject =>
  b.source.kind === "base64"
    ? { type: "image", source: { type: "base64", media_type: b.source.mediaType, data: b.source.data } }
    : { type: "image", source: { type: "url", url: b.source.url } }

/** Canonical blocks → Anthropic blocks. Reasoning is only replayed with an Anthropic signature. */
export const encodeBlocks = (blocks: ReadonlyArray<ContentBlock>): Array<JsonObject> => {
  const out: Array<JsonObject> = []
  for (const b of blocks) {
    switch (b.type) {
      case "text":
        if (b.text !== "") out.push({ type: "text", text: b.text })
        break
      case "image":
        out.push(encodeImage(b))
        break
      case "tool_use":
        out.push({ type: "tool_use", id: b.id, name: b.name, input: encodeInput(b.input) })
        break
      case "tool_result":
        out.push(
          compact({
            type: "tool_result",
            tool_use_id: b.toolUseId,
            content: b.content.flatMap((c) =>
              c.type === "text" ? (c.text === "" ? [] : [{ type: "text", text: c.text }]) : [encodeImage(c)],
            ),
            is_error: b.isError ? true : undefined,
          }),
        )
        break
      case "reasoning":
        if (b.signature?.origin === "anthropic" && b.signature.value !== "")
          out.push(
            b.redacted
              ? { type: "redacted_thinking", data: b.signature.value }
              : { type: "thinking", thinking: b.text, signature: b.signature.value },
          )
        break
    }
  }
  return out
}

const thinkingBudgetOf = (req: CanonicalRequest): number | undefined =>
  req.reasoning?.budgetTokens ?? (req.reasoning?.effort !== undefined ? EFFORT_BUDGET[req.reasoning.effort] : undefined)

const encodeMessages = (req: CanonicalRequest) =>
  req.messages.map((m) => ({ role: m.role, content: encodeBlocks(m.content) })).filter((m) => m.content.length > 0)

/**
 * Anthropic refuses thinking when the final assistant message calls a tool without starting with
 * its own signed thinking — history written by another provider, or a client that dropped it.
 * Such a request is sent with thinking off rather than refused.
 */
const unsignedToolTurn = (
  messages: ReadonlyArray<{ readonly role: string; readonly content: ReadonlyArray<JsonObject> }>,
): boolean => {
  const last = messages.findLast((m) => m.role === "assistant")
  if (last === undefined || !last.content.some((b) => b.type === "tool_use")) return false
  const first = last.content[0]!.type
  return first !== "thinking" && first !== "redacted_thinking"
}

/** Whether the request asks for thinking that `encodeRequest` must leave off (see `unsignedToolTurn`). */
export const thinkingWithheld = (req: CanonicalRequest): boolean =>
  thinkingBudgetOf(req) !== undefined && unsignedToolTurn(encodeMessages(req))

export const encodeRequest = (
  req: CanonicalRequest,
  upstreamModel: string,
  opts: AnthropicEncodeOptions,
): JsonObject => {
  const extra = req.source === "anthropic" ? req.extra : {}
  const messages = encodeMessages(req)
  const requested = thinkingBudgetOf(req)
  const budget = requested !== undefined && unsignedToolTurn(messages) ? undefined : requested
  let maxTokens = req.maxTokens ?? opts.defaultMaxTokens ?? 4096
  if (budget !== undefined && budget >= maxTokens) maxTokens = budget + maxTokens
  const tc = req.toolChoice
  let toolChoice: JsonObject | undefined =
    tc === undefined
      ? undefined
      : tc.type === "required"
        ? { type: "any" }
        : tc.type === "tool"
          ? { type: "tool", name: tc.name }
          : { type: tc.type }
  if (req.parallelToolCalls === false && req.tools.length > 0)
    toolChoice = { ...(toolChoice ?? { type: "auto" }), disable_parallel_tool_use: true }
  return compact({
    ...extra,
    model: upstreamModel,
    system: req.system.length > 0 ? req.system.map((b) => ({ type: "text", text: b.text })) : undefined,
    messages,
    max_tokens: maxTokens,
    // Extended thinking rejects temperature/top_k changes.
    temperature: budget === undefined ? req.temperature : undefined,
    top_p: req.topP,
    top_k: budget === undefined ? req.topK : undefined,
    stop_sequences: req.stop.length > 0 ? [...req.stop] : undefined,
    tools:
      req.tools.length > 0
        ? req.tools.map((t) =>
            compact({ name: t.name, description: t.description, input_schema: t.parameters ?? { type: "object" } }),
          )
        : undefined,
    tool_choice: req.tools.length > 0 ? toolChoice : undefined,
    thinking: budget !== undefined ? { type: "enabled", budget_tokens: budget } : undefined,
    metadata: req.user !== undefined ? { user_id: req.user } : undefined,
    stream: opts.stream ? true : undefined,
  })
}
