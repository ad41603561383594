/** OpenAI Responses request ⇄ canonical request. */
import { Either, Schema } from "effect"
import {
  type CanonicalRequest,
  type ContentBlock,
  type Message,
  ProtocolError,
  type ResponseFormat,
  type TextBlock,
  type Tool,
  type ToolChoice,
} from "../Canonical.js"
import {
  asArray,
  asObject,
  bool,
  compact,
  isObject,
  type JsonObject,
  num,
  parseArguments,
  str,
  stringifyArguments,
  stringRecord,
  unknownFields,
} from "../Json.js"
import { imageFromUrl, imageUrlOf } from "../openai-chat/Request.js"
import { decodeEnvelope, OpenRecord } from "../RequestSchema.js"
import { decodeReasoningItem } from "./ReasoningCarrier.js"

const Envelope = Schema.Struct({ model: Schema.String }, OpenRecord)

const KNOWN = new Set([
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "max_output_tokens",
  "temperature",
  "top_p",
  "text",
  "reasoning",
  "stream",
  "user",
  "metadata",
  "messages",
])

/** Content of an input message (string or parts) → blocks; also accepts chat-style `{role, content}` items. */
const decodeContent = (content: unknown): Array<ContentBlock> => {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }]
  const out: Array<ContentBlock> = []
  for (const p0 of asArray(content)) {
    const p = asObject(p0)
    if (
      typeof p.text === "string" &&
      (p.type === undefined || p.type === "input_text" || p.type === "output_text" || p.type === "text")
    )
      out.push({ type: "text", text: p.text })
    else if (p.type === "refusal" && typeof p.refusal === "string") out.push({ type: "text", text: p.refusal })
    else if (p.type === "input_image" || p.type === "image_url") {
      const url = str(p.image_url) ?? str(asObject(p.image_url).url)
      if (url) out.push(imageFromUrl(url))
    }
  }
  return out
}

const outputText = (o: JsonObject): string =>
  typeof o.output === "string"
    ? o.output
    : decodeContent(o.output)
        .flatMap((b) => (b.type === "text" ? [b.text] : []))
        .join("")

const decodeToolChoice = (u: unknown): ToolChoice | undefined => {
  if (u === "auto" || u === "none" || u === "required") return { type: u }
  const o = asObject(u)
  return o.type === "function" && typeof o.name === "string" ? { type: "tool", name: o.name } : undefined
}

export const decodeFormat = (u: unknown): ResponseFormat | undefined => {
  const f = asObject(u)
  if (f.type === "text" || f.type === "json_object") return { type: f.type }
  if (f.type === "json_schema")
    return compact({
      type: "json_schema" as const,
      name: str(f.name) ?? "response",
      schema: f.schema ?? {},
      strict: bool(f.strict),
      description: str(f.description),
    })
  return undefined
}

export const encodeFormat = (f: ResponseFormat): JsonObject =>
  f.type === "json_schema"
    ? compact({ type: "json_schema", name: f.name, schema: f.schema, strict: f.strict, description: f.description })
    : { type: f.type }

/** Appends blocks as a message, or onto the last message when `merge` and it has the same role. */
const append = (
  messages: Array<Message>,
  role: "user" | "assistant",
  blocks: ReadonlyArray<ContentBlock>,
  merge: boolean,
) => {
  const last = messages[messages.length - 1]
  if (merge && last && last.role === role)
    messages[messages.length - 1] = { role, content: [...last.content, ...blocks] }
  else messages.push({ role, content: [...blocks] })
}

/** A `message` item: system text, or a user or assistant message; the error for another role. */
const decodeMessageItem = (
  it: JsonObject,
  i: number,
  system: Array<TextBlock>,
  messages: Array<Message>,
): ProtocolError | undefined => {
  const role = str(it.role) ?? "user"
  const blocks = decodeContent(it.content)
  if (role === "system" || role === "developer") system.push(...blocks.filter((x): x is TextBlock => x.type === "text"))
  else if (role === "user" || role === "assistant") {
    if (blocks.length > 0) append(messages, role, blocks, role === "assistant")
  } else
    return new ProtocolError({
      dialect: "openai-responses",
      message: `input[${i}].role '${role}' is not supported`,
      param: `input[${i}].role`,
    })
  return undefined
}

/** Adds input item `i` to the system blocks or the messages (unknown item types are skipped). */
const decodeItem = (
  it: JsonObject,
  i: number,
  system: Array<TextBlock>,
  messages: Array<Message>,
): ProtocolError | undefined => {
  switch (str(it.type) ?? "message") {
    case "message":
      return decodeMessageItem(it, i, system, messages)
    case "function_call":
      append(
        messages,
        "assistant",
        [
          {
            type: "tool_use",
            id: str(it.call_id) ?? str(it.id) ?? "",
            name: str(it.name) ?? "",
            input: parseArguments(str(it.arguments)),
          },
        ],
        true,
      )
      return undefined
    case "function_call_output": {
      const last = messages[messages.length - 1]
      const block = {
        type: "tool_result" as const,
        toolUseId: str(it.call_id) ?? "",
        content: [{ type: "text" as const, text: outputText(it) }],
        isError: false,
      }
      append(
        messages,
        "user",
        [block],
        last !== undefined && last.role === "user" && last.content.every((x) => x.type === "tool_result"),
      )
      return undefined
    }
    case "reasoning": {
      append(
        messages,
        "assistant",
        [
          decodeReasoningItem(
            it,
            asArray(it.summary).map((s) => str(asObject(s).text) ?? ""),
          ),
        ],
        true,
      )
      return undefined
    }
    default:
      return undefined
  }
}

const decodeTools = (b: JsonObject): Array<Tool> => {
  const tools: Array<Tool> = []
  for (const t0 of asArray(b.tools)) {
    const t = asObject(t0)
    if (t.type === "function" && typeof t.name === "string")
      tools.push(
        compact({
          name: t.name,
          description: str(t.description),
          parameters: t.parameters ?? { type: "object", properties: {} },
          strict: bool(t.strict),
        }),
      )
  }
  return tools
}

/** The request's settings around its decoded input. */
const canonicalOf = (b: typeof Envelope.Type, system: Array<TextBlock>, messages: Array<Message>): CanonicalRequest => {
  const effort = str(asObject(b.reasoning).effort)
  return compact({
    model: b.model,
    system,
    messages,
    tools: decodeTools(b),
    toolChoice: decodeToolChoice(b.tool_choice),
    parallelToolCalls: bool(b.parallel_tool_calls),
    maxTokens: num(b.max_output_tokens),
    temperature: num(b.temperature),
    topP: num(b.top_p),
    stop: [],
    responseFormat: decodeFormat(asObject(b.text).format),
    reasoning: effort !== undefined ? { effort } : undefined,
    stream: b.stream === true,
    streamUsage: true,
    user: str(b.user),
    metadata: stringRecord(b.metadata),
    source: "openai-responses" as const,
    extra: unknownFields(b, KNOWN),
  }) as CanonicalRequest
}

export const decodeRequest = (body: unknown): Either.Either<CanonicalRequest, ProtocolError> =>
  Either.flatMap(decodeEnvelope("openai-responses", Envelope, body), (b) => {
    const system: Array<TextBlock> = []
    const messages: Array<Message> = []
    if (typeof b.instructions === "string" && b.instructions !== "") system.push({ type: "text", text: b.instructions })
    const items = typeof b.input === "string" ? [{ role: "user", content: b.input }] : asArray(b.input ?? b.messages)
    if (b.input !== undefined && typeof b.input !== "string" && !Array.isArray(b.input))
      return Either.left(
        new ProtocolError({
          dialect: "openai-responses",
          message: "input must be a string or an array of items",
          param: "input",
        }),
      )
    for (const [i, it] of items.entries()) {
      const error = isObject(it) ? decodeItem(it, i, system, messages) : undefined
      if (error !== undefined) return Either.left(error)
    }
    return Either.right(canonicalOf(b, system, messages))
  })

export const encodeTools = (req: CanonicalRequest): Array<JsonObject> =>
  req.tools.map((t) =>
    compact({
      type: "function",
      name: t.name,
      description: t.description,
      parameters: t.parameters,
      strict: t.strict ?? false,
    }),
  )

export const encodeToolChoice = (c: ToolChoice | undefined): unknown =>
  c === undefined ? "auto" : c.type === "tool" ? { type: "function", name: c.name } : c.type

export const encodeRequest = (req: CanonicalRequest, upstreamModel: string, opts: { stream: boolean }): JsonObject => {
  const extra = req.source === "openai-responses" ? req.extra : {}
  const input: Array<JsonObject> = []
  // One system block fits `instructions`; several keep their boundaries as a leading system message.
  if (req.system.length > 1)
    input.push({ role: "system", content: req.system.map((b) => ({ type: "input_text", text: b.text })) })
  for (const m of req.messages) {
    let parts: Array<JsonObject> = []
    const flush = () => {
      if (parts.length > 0)
        input.push(
          m.role === "user" ? { role: "user", content: parts } : { type: "message", role: "assistant", content: parts },
        )
      parts = []
    }
    for (const b of m.content) {
      switch (b.type) {
        case "text":
          parts.push(
            m.role === "user"
              ? { type: "input_text", text: b.text }
              : { type: "output_text", text: b.text, annotations: [] },
          )
          break
        case "image":
          parts.push({ type: "input_image", image_url: imageUrlOf(b), detail: "auto" })
          break
        case "tool_use":
          flush()
          input.push({ type: "function_call", call_id: b.id, name: b.name, arguments: stringifyArguments(b.input) })
          break
        case "tool_result":
          flush()
          input.push({
            type: "function_call_output",
            call_id: b.toolUseId,
            output: b.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join(""),
          })
          break
        case "reasoning":
          // Reasoning items can only be replayed with their original item id, which the canonical form does not keep.
          break
      }
    }
    flush()
  }
  return compact({
    ...extra,
    model: upstreamModel,
    instructions: req.system.length === 1 ? req.system[0]!.text : undefined,
    input,
    tools: req.tools.length > 0 ? encodeTools(req) : undefined,
    tool_choice: req.toolChoice && req.tools.length > 0 ? encodeToolChoice(req.toolChoice) : undefined,
    parallel_tool_calls: req.tools.length > 0 ? req.parallelToolCalls : undefined,
    max_output_tokens: req.maxTokens,
    temperature: req.temperature,
    top_p: req.topP,
    text: req.responseFormat ? { ...asObject(extra.text), format: encodeFormat(req.responseFormat) } : undefined,
    reasoning:
      req.reasoning?.effort !== undefined ? { ...asObject(extra.reasoning), effort: req.reasoning.effort } : undefined,
    user: req.user,
    metadata: req.source === "openai-responses" ? req.metadata : undefined,
    stream: opts.stream ? true : undefined,
  })
}
