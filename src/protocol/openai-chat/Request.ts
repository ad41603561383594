/** OpenAI Chat Completions request ⇄ canonical request. */
import { Either, Schema } from "effect"
import {
  type CanonicalRequest,
  type ContentBlock,
  type ImageBlock,
  type Message,
  ProtocolError,
  type ResponseFormat,
  type TextBlock,
  type Tool,
  type ToolChoice,
  type ToolResultBlock,
} from "../Canonical.js"
import {
  asArray,
  asObject,
  bool,
  compact,
  dataUrl,
  isObject,
  type JsonObject,
  num,
  parseArguments,
  parseDataUrl,
  str,
  stringifyArguments,
  stringRecord,
  unknownFields,
} from "../Json.js"
import { decodeEnvelope, OpenRecord } from "../RequestSchema.js"

const Envelope = Schema.Struct({ model: Schema.String, messages: Schema.Array(Schema.Unknown) }, OpenRecord)

const KNOWN = new Set([
  "model",
  "messages",
  "tools",
  "functions",
  "tool_choice",
  "function_call",
  "parallel_tool_calls",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "top_k",
  "frequency_penalty",
  "presence_penalty",
  "seed",
  "stop",
  "response_format",
  "reasoning_effort",
  "stream",
  "stream_options",
  "user",
  "metadata",
])

export const imageFromUrl = (url: string): ImageBlock => {
  const d = parseDataUrl(url)
  return { type: "image", source: d ? { kind: "base64", mediaType: d.mediaType, data: d.data } : { kind: "url", url } }
}

export const imageUrlOf = (b: ImageBlock): string =>
  b.source.kind === "url" ? b.source.url : dataUrl(b.source.mediaType, b.source.data)

/** Content parts (string or array) → text and image blocks; unknown part types are skipped. */
export const partsToBlocks = (content: unknown): Array<TextBlock | ImageBlock> => {
  if (typeof content === "string") return [{ type: "text", text: content }]
  const out: Array<TextBlock | ImageBlock> = []
  for (const p of asArray(content)) {
    if (typeof p === "string") out.push({ type: "text", text: p })
    const o = asObject(p)
    const t = str(o.type)
    if ((t === "text" || t === "input_text" || t === "output_text") && typeof o.text === "string")
      out.push({ type: "text", text: o.text })
    else if (t === "image_url") {
      const url = typeof o.image_url === "string" ? o.image_url : str(asObject(o.image_url).url)
      if (url !== undefined) out.push(imageFromUrl(url))
    } else if (t === "refusal" && typeof o.refusal === "string") out.push({ type: "text", text: o.refusal })
  }
  return out
}

const decodeToolChoice = (u: unknown): ToolChoice | undefined => {
  if (u === "auto" || u === "none" || u === "required") return { type: u }
  const o = asObject(u)
  const name = str(asObject(o.function).name) ?? str(o.name)
  return name !== undefined ? { type: "tool", name } : undefined
}

const decodeTools = (body: JsonObject): Array<Tool> => {
  const out: Array<Tool> = []
  for (const t of asArray(body.tools)) {
    const f = asObject(asObject(t).function)
    const name = str(f.name)
    if (name === undefined) continue
    out.push(
      compact({
        name,
        description: str(f.description),
        parameters: f.parameters ?? { type: "object", properties: {} },
        strict: bool(f.strict),
      }),
    )
  }
  for (const f0 of asArray(body.functions)) {
    const f = asObject(f0)
    const name = str(f.name)
    if (name !== undefined)
      out.push(
        compact({
          name,
          description: str(f.description),
          parameters: f.parameters ?? { type: "object", properties: {} },
        }),
      )
  }
  return out
}

export const decodeResponseFormat = (u: unknown): ResponseFormat | undefined => {
  const o = asObject(u)
  if (o.type === "text" || o.type === "json_object") return { type: o.type }
  if (o.type === "json_schema") {
    const js = asObject(o.json_schema)
    return compact({
      type: "json_schema" as const,
      name: str(js.name) ?? "response",
      schema: js.schema ?? {},
      strict: bool(js.strict),
      description: str(js.description),
    })
  }
  return undefined
}

export const encodeResponseFormat = (f: ResponseFormat): JsonObject =>
  f.type === "json_schema"
    ? {
        type: "json_schema",
        json_schema: compact({ name: f.name, schema: f.schema, strict: f.strict, description: f.description }),
      }
    : { type: f.type }

const stopList = (u: unknown): Array<string> =>
  typeof u === "string" ? [u] : asArray(u).filter((s): s is string => typeof s === "string")

/** Appends a message, merging tool results into a preceding user message that holds only tool results. */
const pushMessage = (messages: Array<Message>, m: Message) => {
  const last = messages[messages.length - 1]
  if (
    last &&
    last.role === "user" &&
    m.role === "user" &&
    last.content.length > 0 &&
    last.content.every((b) => b.type === "tool_result") &&
    m.content.every((b) => b.type === "tool_result")
  ) {
    messages[messages.length - 1] = { role: "user", content: [...last.content, ...m.content] }
    return
  }
  messages.push(m)
}

const assistantContent = (m: JsonObject): Array<ContentBlock> => {
  const content: Array<ContentBlock> = []
  const reasoning = str(m.reasoning_content) ?? str(m.reasoning)
  if (reasoning) content.push({ type: "reasoning", text: reasoning })
  if (m.content !== null && m.content !== undefined)
    content.push(...partsToBlocks(m.content).filter((p) => p.type !== "text" || p.text !== ""))
  for (const tc of asArray(m.tool_calls)) {
    const o = asObject(tc)
    const f = asObject(o.function)
    content.push({
      type: "tool_use",
      id: str(o.id) ?? "",
      name: str(f.name) ?? "",
      input: parseArguments(str(f.arguments)),
    })
  }
  if (isObject(m.function_call)) {
    content.push({
      type: "tool_use",
      id: "",
      name: str(m.function_call.name) ?? "",
      input: parseArguments(str(m.function_call.arguments)),
    })
  }
  return content
}

/** A `tool` (or legacy `function`) message: the result of one tool call. */
const toolResultOf = (m: JsonObject): ToolResultBlock => ({
  type: "tool_result",
  toolUseId: str(m.tool_call_id) ?? str(m.name) ?? "",
  content: partsToBlocks(m.content ?? ""),
  isError: false,
})

/** Adds `messages[i]` to the system blocks or the messages; the error for one that cannot be. */
const decodeMessage = (
  m: unknown,
  i: number,
  system: Array<TextBlock>,
  messages: Array<Message>,
): ProtocolError | undefined => {
  if (!isObject(m))
    return new ProtocolError({
      dialect: "openai-chat",
      message: `messages[${i}] must be an object`,
      param: `messages[${i}]`,
    })
  switch (str(m.role)) {
    case "system":
    case "developer":
      for (const p of partsToBlocks(m.content)) if (p.type === "text") system.push(p)
      return undefined
    case "user":
      pushMessage(messages, { role: "user", content: partsToBlocks(m.content) })
      return undefined
    case "assistant":
      messages.push({ role: "assistant", content: assistantContent(m) })
      return undefined
    case "tool":
    case "function":
      pushMessage(messages, { role: "user", content: [toolResultOf(m)] })
      return undefined
    default:
      return new ProtocolError({
        dialect: "openai-chat",
        message: `messages[${i}].role '${String(m.role)}' is not supported`,
        param: `messages[${i}].role`,
      })
  }
}

/** The request's settings around its decoded messages. */
const canonicalOf = (b: typeof Envelope.Type, system: Array<TextBlock>, messages: Array<Message>): CanonicalRequest => {
  const effort = str(b.reasoning_effort)
  return compact({
    model: b.model,
    system,
    messages,
    tools: decodeTools(b),
    toolChoice: decodeToolChoice(b.tool_choice ?? b.function_call),
    parallelToolCalls: bool(b.parallel_tool_calls),
    maxTokens: num(b.max_completion_tokens) ?? num(b.max_tokens),
    temperature: num(b.temperature),
    topP: num(b.top_p),
    topK: num(b.top_k),
    frequencyPenalty: num(b.frequency_penalty),
    presencePenalty: num(b.presence_penalty),
    seed: num(b.seed),
    stop: stopList(b.stop),
    responseFormat: decodeResponseFormat(b.response_format),
    reasoning: effort !== undefined ? { effort } : undefined,
    stream: b.stream === true,
    streamUsage: asObject(b.stream_options).include_usage === true,
    user: str(b.user),
    metadata: stringRecord(b.metadata),
    source: "openai-chat" as const,
    extra: unknownFields(b, KNOWN),
  })
}

export const decodeRequest = (body: unknown): Either.Either<CanonicalRequest, ProtocolError> =>
  Either.flatMap(decodeEnvelope("openai-chat", Envelope, body), (b) => {
    const system: Array<TextBlock> = []
    const messages: Array<Message> = []
    for (const [i, m] of b.messages.entries()) {
      const error = decodeMessage(m, i, system, messages)
      if (error !== undefined) return Either.left(error)
    }
    return Either.right(canonicalOf(b, system, messages))
  })

export interface OpenAiChatEncodeOptions {
  readonly stream: boolean
  /** Newer OpenAI models only accept `max_completion_tokens`; many compatible servers only `max_tokens`. */
  readonly maxTokensField?: "max_tokens" | "max_completion_tokens"
}

const textOf = (blocks: ReadonlyArray<ContentBlock>): string =>
  blocks.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("")

const userContent = (blocks: ReadonlyArray<ContentBlock>): string | Array<JsonObject> => {
  const parts = blocks.filter((b): b is TextBlock | ImageBlock => b.type === "text" || b.type === "image")
  if (parts.length === 1 && parts[0]!.type === "text") return parts[0]!.text
  return parts.map((p) =>
    p.type === "text" ? { type: "text", text: p.text } : { type: "image_url", image_url: { url: imageUrlOf(p) } },
  )
}

/** Canonical messages → OpenAI chat messages (tool results become `role:"tool"` messages). */
export const encodeMessages = (req: CanonicalRequest): Array<JsonObject> => {
  const out: Array<JsonObject> = []
  if (req.system.length === 1) out.push({ role: "system", content: req.system[0]!.text })
  else if (req.system.length > 1)
    out.push({ role: "system", content: req.system.map((b) => ({ type: "text", text: b.text })) })
  for (const m of req.messages) {
    if (m.role === "assistant") {
      const toolCalls = m.content.flatMap((b) =>
        b.type === "tool_use"
          ? [{ id: b.id, type: "function", function: { name: b.name, arguments: stringifyArguments(b.input) } }]
          : [],
      )
      const text = textOf(m.content)
      out.push(
        compact({
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          tool_calls: toolCalls.length > 0 ? toolCalls : undefined,
        }),
      )
      continue
    }
    const rest: Array<ContentBlock> = []
    for (const b of m.content) {
      if (b.type === "tool_result") {
        const images = b.content.filter((c) => c.type === "image")
        const text = textOf(b.content)
        out.push({ role: "tool", tool_call_id: b.toolUseId, content: b.isError && text === "" ? "error" : text })
        // Chat tool messages cannot hold images: they follow as a user message.
        rest.push(...images)
      } else rest.push(b)
    }
    if (rest.length > 0 || m.content.length === 0) out.push({ role: "user", content: userContent(rest) })
  }
  return out
}

export const encodeToolChoice = (c: ToolChoice): unknown =>
  c.type === "tool" ? { type: "function", function: { name: c.name } } : c.type

export const encodeRequest = (
  req: CanonicalRequest,
  upstreamModel: string,
  opts: OpenAiChatEncodeOptions,
): JsonObject => {
  const extra = req.source === "openai-chat" ? req.extra : {}
  const maxField = opts.maxTokensField ?? "max_tokens"
  return compact({
    ...extra,
    model: upstreamModel,
    messages: encodeMessages(req),
    tools:
      req.tools.length > 0
        ? req.tools.map((t) => ({
            type: "function",
            function: compact({ name: t.name, description: t.description, parameters: t.parameters, strict: t.strict }),
          }))
        : undefined,
    tool_choice: req.toolChoice ? encodeToolChoice(req.toolChoice) : undefined,
    parallel_tool_calls: req.tools.length > 0 ? req.parallelToolCalls : undefined,
    [maxField]: req.maxTokens,
    temperature: req.temperature,
    top_p: req.topP,
    top_k: req.source === "openai-chat" ? req.topK : undefined,
    frequency_penalty: req.frequencyPenalty,
    presence_penalty: req.presencePenalty,
    seed: req.seed,
    stop: req.stop.length > 0 ? [...req.stop] : undefined,
    response_format: req.responseFormat ? encodeResponseFormat(req.responseFormat) : undefined,
    reasoning_effort: req.reasoning?.effort,
    user: req.user,
    metadata: req.source === "openai-chat" ? req.metadata : undefined,
    stream: opts.stream ? true : undefined,
    // The gateway always meters streams; the usage chunk is stripped again if the client did not ask.
    stream_options: opts.stream ? { ...asObject(extra.stream_options), include_usage: true } : undefined,
  })
}
