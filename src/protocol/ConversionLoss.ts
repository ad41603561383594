/**
 * What converting a request out of its own dialect would lose. The canonical form carries text,
 * images, system prompts, function tools and their calls and results, reasoning settings and
 * the sampling options; anything else in a request is either **refused** — a feature the answer
 * depends on (a built-in or server tool, a document or audio part, a stored-prompt reference)
 * that a provider of another dialect cannot serve — or **dropped** when it is clearly optional:
 *
 *   cache_control                  Anthropic prompt-caching hints (the target caches, or not, by itself)
 *   citations                      Anthropic citations on earlier text blocks
 *   thinking, redacted_thinking,   reasoning of earlier turns, signed by the provider that wrote
 *   reasoning, reasoning_content,  it: only that provider family can read it back
 *   thought, thoughtSignature
 *   any other top-level field the dialect's codec does not model (its name)
 *
 * What one target dialect cannot carry of the canonical request itself is `TargetLoss.ts`'s.
 * Names are the client's own vocabulary (field, tool or content type names), bounded and
 * printable, so they can be quoted in an error or a header. Pure.
 */
import type { Dialect } from "./Canonical.js"
import { asArray, asObject, isObject, type JsonObject } from "./Json.js"

export interface ConversionLoss {
  /** Features another dialect cannot express: the request is refused for that upstream. */
  readonly refused: ReadonlyArray<string>
  /** Optional features left out of the converted request (field and type names). */
  readonly dropped: ReadonlyArray<string>
}

export const NO_LOSS: ConversionLoss = { refused: [], dropped: [] }

/** At most this many names of each kind are kept (a hostile body may name thousands). */
const MAX_NAMES = 16
const MAX_NAME_LENGTH = 64

/** A client-supplied name as it may be quoted: printable ASCII, bounded. */
const printable = (name: string): string => {
  const cut = name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name
  return cut.replace(/[^\x20-\x7e…]/g, "?")
}

interface Collector {
  refuse(what: string, name: unknown): void
  drop(name: string): void
}

const makeCollector = () => {
  const refused = new Set<string>()
  const dropped = new Set<string>()
  const collector: Collector = {
    refuse: (what, name) => {
      if (refused.size < MAX_NAMES)
        refused.add(`${what} '${printable(typeof name === "string" ? name : (JSON.stringify(name) ?? "?"))}'`)
    },
    drop: (name) => {
      if (dropped.size < MAX_NAMES) dropped.add(printable(name))
    },
  }
  const result = (): ConversionLoss =>
    refused.size === 0 && dropped.size === 0 ? NO_LOSS : { refused: [...refused], dropped: [...dropped] }
  return { collector, result }
}

/**
 * Top-level fields the codec does not model (`extra`): refused when listed, never mentioned when
 * `ignored` (another part of the gateway owns them), else dropped by name.
 */
const unmodelledFields = (
  extra: JsonObject,
  c: Collector,
  refused: ReadonlySet<string>,
  ignored: ReadonlySet<string> = new Set(),
) => {
  for (const name of Object.keys(extra)) {
    if (refused.has(name)) c.refuse("field", name)
    else if (!ignored.has(name)) c.drop(name)
  }
}

const cacheControl = (block: JsonObject, c: Collector) => {
  if (block.cache_control != null) c.drop("cache_control")
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

const ANTHROPIC_REFUSED_FIELDS = new Set(["mcp_servers", "container", "output_format"])

const anthropicImage = (block: JsonObject, c: Collector) => {
  const source = asObject(block.source).type
  if (source !== "base64" && source !== "url") c.refuse("image source", source)
}

const anthropicToolResult = (block: JsonObject, c: Collector) => {
  for (const inner0 of asArray(block.content)) {
    const inner = asObject(inner0)
    cacheControl(inner, c)
    if (inner.type === "image") anthropicImage(inner, c)
    else if (inner.type !== "text") c.refuse("content type", inner.type)
  }
}

const anthropicBlock = (block: JsonObject, c: Collector) => {
  cacheControl(block, c)
  switch (block.type) {
    case "text":
      if (asArray(block.citations).length > 0) c.drop("citations")
      return
    case "tool_use":
      return
    case "image":
      return anthropicImage(block, c)
    case "tool_result":
      return anthropicToolResult(block, c)
    case "thinking":
    case "redacted_thinking":
      return c.drop(block.type)
    default:
      c.refuse("content type", block.type)
  }
}

const anthropicLoss = (body: JsonObject, c: Collector) => {
  for (const tool0 of asArray(body.tools)) {
    const tool = asObject(tool0)
    cacheControl(tool, c)
    // Server tools (web_search_…, bash_…, computer_…, code_execution_…) have a versioned `type`.
    if (tool.type !== undefined && tool.type !== "custom") c.refuse("tool type", tool.type)
  }
  for (const block of asArray(body.system)) if (isObject(block)) cacheControl(block, c)
  for (const message of asArray(body.messages)) {
    for (const block of asArray(asObject(message).content)) if (isObject(block)) anthropicBlock(block, c)
  }
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses

const RESPONSES_REFUSED_FIELDS = new Set(["prompt"])
/** Stored-conversation fields: the gateway's Responses state handles them before any conversion. */
const RESPONSES_STATE_FIELDS = new Set(["store", "previous_response_id", "conversation", "background"])
const RESPONSES_TEXT_PARTS = new Set(["input_text", "output_text", "text", "refusal"])

const responsesParts = (content: unknown, c: Collector) => {
  for (const part0 of asArray(content)) {
    const part = asObject(part0)
    if (part.type === undefined || RESPONSES_TEXT_PARTS.has(part.type as string)) continue
    if (part.type === "input_image" || part.type === "image_url") {
      if (part.image_url == null) c.refuse("content type", "input_image with file_id")
    } else c.refuse("content type", part.type)
  }
}

const responsesItem = (item: JsonObject, c: Collector) => {
  switch (item.type ?? "message") {
    case "message":
      return responsesParts(item.content, c)
    case "function_call":
    case "function_call_output":
      return
    case "reasoning":
      return c.drop("reasoning")
    default:
      c.refuse("input item type", item.type)
  }
}

const responsesLoss = (body: JsonObject, c: Collector) => {
  for (const tool of asArray(body.tools)) {
    const type = asObject(tool).type
    if (type !== "function") c.refuse("tool type", type)
  }
  for (const item of asArray(body.input)) if (isObject(item)) responsesItem(item, c)
  if (asObject(body.text).verbosity != null) c.drop("text.verbosity")
}

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions

const CHAT_REFUSED_FIELDS = new Set(["audio", "web_search_options"])
const CHAT_PARTS = new Set(["text", "image_url", "refusal", "input_text", "output_text"])

const chatMessage = (message: JsonObject, c: Collector) => {
  for (const part0 of asArray(message.content)) {
    const type = asObject(part0).type
    if (typeof part0 !== "string" && !CHAT_PARTS.has(type as string)) c.refuse("content type", type)
  }
  if (message.role === "assistant" && (message.reasoning_content != null || message.reasoning != null))
    c.drop("reasoning_content")
}

const chatLoss = (body: JsonObject, extra: JsonObject, c: Collector) => {
  for (const tool0 of asArray(body.tools)) {
    const tool = asObject(tool0)
    if (tool.type !== undefined && tool.type !== "function") c.refuse("tool type", tool.type)
  }
  for (const message of asArray(body.messages)) if (isObject(message)) chatMessage(message, c)
  // One answer only: a converted request cannot ask for several choices or for audio out.
  if (typeof extra.n === "number" && extra.n > 1) c.refuse("field", "n")
  if (asArray(extra.modalities).includes("audio")) c.refuse("field", "modalities")
}

// ---------------------------------------------------------------------------------------------
// Gemini

const GEMINI_REFUSED_FIELDS = new Set(["cachedContent", "cached_content"])
const GEMINI_PART_KEYS = new Set([
  "text",
  "thought",
  "thoughtSignature",
  "thought_signature",
  "inlineData",
  "inline_data",
  "functionCall",
  "function_call",
  "functionResponse",
  "function_response",
])

const geminiPart = (part: JsonObject, c: Collector) => {
  for (const key of Object.keys(part)) if (!GEMINI_PART_KEYS.has(key)) c.refuse("part", key)
  const data = asObject(part.inlineData ?? part.inline_data)
  const mime = data.mimeType ?? data.mime_type
  if (isObject(part.inlineData ?? part.inline_data) && !(typeof mime === "string" && mime.startsWith("image/")))
    c.refuse("inlineData of type", mime)
  if (part.thought === true) c.drop("thought")
  else if (part.thoughtSignature != null || part.thought_signature != null) c.drop("thoughtSignature")
}

const geminiLoss = (body: JsonObject, c: Collector) => {
  for (const tool of asArray(body.tools)) {
    for (const key of Object.keys(asObject(tool)))
      if (key !== "functionDeclarations" && key !== "function_declarations") c.refuse("tool", key)
  }
  for (const content of asArray(body.contents)) {
    for (const part of asArray(asObject(content).parts)) if (isObject(part)) geminiPart(part, c)
  }
}

/**
 * What converting `body` (in `dialect`, whose unmodelled top-level fields are `extra`) for an
 * upstream of another dialect would refuse or drop. `NO_LOSS` when nothing.
 */
export const conversionLoss = (dialect: Dialect, body: JsonObject, extra: JsonObject): ConversionLoss => {
  const { collector, result } = makeCollector()
  switch (dialect) {
    case "anthropic":
      anthropicLoss(body, collector)
      unmodelledFields(extra, collector, ANTHROPIC_REFUSED_FIELDS)
      break
    case "openai-responses":
      responsesLoss(body, collector)
      unmodelledFields(extra, collector, RESPONSES_REFUSED_FIELDS, RESPONSES_STATE_FIELDS)
      break
    case "openai-chat":
      chatLoss(body, extra, collector)
      unmodelledFields(extra, collector, CHAT_REFUSED_FIELDS, new Set(["n", "modalities"]))
      break
    case "gemini":
      geminiLoss(body, collector)
      unmodelledFields(extra, collector, GEMINI_REFUSED_FIELDS)
      break
  }
  return result()
}
