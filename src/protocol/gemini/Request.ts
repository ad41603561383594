/** Gemini generateContent request ⇄ canonical request. The model and streaming live in the URL. */
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
} from "../Canonical.js"
import { asArray, asObject, compact, isObject, type JsonObject, num, parseJson, str, unknownFields } from "../Json.js"
import { decodeEnvelope, OpenRecord } from "../RequestSchema.js"

const Envelope = Schema.Struct({ contents: Schema.Array(Schema.Unknown) }, OpenRecord)

const KNOWN = new Set([
  "model",
  "contents",
  "systemInstruction",
  "system_instruction",
  "tools",
  "toolConfig",
  "tool_config",
  "generationConfig",
  "generation_config",
  "stream",
])

/** Gemini function calls often have no id: ids are derived from the name and its occurrence so calls and responses pair up. */
const syntheticId = (name: string, k: number) => `call_${name.replace(/[^a-zA-Z0-9_-]/g, "_")}_${k}`

/** A functionResponse.response → tool result text ({result: "…"} unwraps; anything else is JSON). */
const responseText = (response: unknown): string => {
  const o = asObject(response)
  const keys = Object.keys(o)
  if (
    keys.length === 1 &&
    (keys[0] === "result" || keys[0] === "output" || keys[0] === "content") &&
    typeof o[keys[0]!] === "string"
  )
    return o[keys[0]!] as string
  return JSON.stringify(response ?? {})
}

export const decodeParts = (
  parts: unknown,
  counters?: { calls: Map<string, number>; results: Map<string, number> },
): Array<ContentBlock> => {
  const out: Array<ContentBlock> = []
  for (const p0 of asArray(parts)) {
    const p = asObject(p0)
    const sig = str(p.thoughtSignature) ?? str(p.thought_signature)
    const signature = sig ? { origin: "gemini" as const, value: sig } : undefined
    if (typeof p.text === "string") {
      if (p.thought === true) out.push(compact({ type: "reasoning" as const, text: p.text, signature }))
      else if (signature && p.text === "") out.push({ type: "reasoning", text: "", signature })
      else out.push({ type: "text", text: p.text })
    } else if (isObject(p.inlineData ?? p.inline_data)) {
      const d = asObject(p.inlineData ?? p.inline_data)
      out.push({
        type: "image",
        source: {
          kind: "base64",
          mediaType: str(d.mimeType) ?? str(d.mime_type) ?? "application/octet-stream",
          data: str(d.data) ?? "",
        },
      })
    } else if (isObject(p.fileData ?? p.file_data)) {
      const d = asObject(p.fileData ?? p.file_data)
      out.push({ type: "image", source: { kind: "url", url: str(d.fileUri) ?? str(d.file_uri) ?? "" } })
    } else if (isObject(p.functionCall ?? p.function_call)) {
      const f = asObject(p.functionCall ?? p.function_call)
      const name = str(f.name) ?? ""
      const k = counters ? (counters.calls.get(name) ?? 0) : 0
      counters?.calls.set(name, k + 1)
      out.push(
        compact({
          type: "tool_use" as const,
          id: str(f.id) ?? syntheticId(name, k),
          name,
          input: f.args ?? {},
          signature,
        }),
      )
    } else if (isObject(p.functionResponse ?? p.function_response)) {
      const f = asObject(p.functionResponse ?? p.function_response)
      const name = str(f.name) ?? ""
      const k = counters ? (counters.results.get(name) ?? 0) : 0
      counters?.results.set(name, k + 1)
      out.push({
        type: "tool_result",
        toolUseId: str(f.id) ?? syntheticId(name, k),
        content: [{ type: "text", text: responseText(f.response) }],
        isError: false,
      })
    }
  }
  return out
}

const decodeToolChoice = (u: unknown): ToolChoice | undefined => {
  const c = asObject(asObject(u).functionCallingConfig ?? asObject(u).function_calling_config)
  const allowed = asArray(c.allowedFunctionNames ?? c.allowed_function_names).filter(
    (s): s is string => typeof s === "string",
  )
  switch (c.mode) {
    case "AUTO":
    case "VALIDATED":
      return { type: "auto" }
    case "NONE":
      return { type: "none" }
    case "ANY":
      return allowed.length === 1 ? { type: "tool", name: allowed[0]! } : { type: "required" }
    default:
      return undefined
  }
}

export const decodeRequest = (
  body: unknown,
  hints?: { model?: string; stream?: boolean },
): Either.Either<CanonicalRequest, ProtocolError> =>
  Either.flatMap(decodeEnvelope("gemini", Envelope, body), (b) => {
    const model = hints?.model ?? str(b.model)
    if (model === undefined)
      return Either.left(new ProtocolError({ dialect: "gemini", message: "model is required", param: "model" }))
    const counters = { calls: new Map<string, number>(), results: new Map<string, number>() }
    const messages: Array<Message> = []
    for (const c0 of b.contents) {
      const c = asObject(c0)
      messages.push({ role: c.role === "model" ? "assistant" : "user", content: decodeParts(c.parts, counters) })
    }
    const system = decodeParts(asObject(b.systemInstruction ?? b.system_instruction).parts).filter(
      (x): x is TextBlock => x.type === "text",
    )
    const tools: Array<Tool> = []
    for (const t of asArray(b.tools)) {
      for (const f0 of asArray(asObject(t).functionDeclarations ?? asObject(t).function_declarations)) {
        const f = asObject(f0)
        if (typeof f.name === "string")
          tools.push(
            compact({
              name: f.name,
              description: str(f.description),
              parameters: f.parametersJsonSchema ?? f.parameters ?? { type: "object", properties: {} },
            }),
          )
      }
    }
    const g = asObject(b.generationConfig ?? b.generation_config)
    const thinking = asObject(g.thinkingConfig)
    const schema = g.responseJsonSchema ?? g.responseSchema
    const responseFormat: ResponseFormat | undefined =
      g.responseMimeType === "application/json"
        ? schema !== undefined
          ? { type: "json_schema", name: "response", schema }
          : { type: "json_object" }
        : undefined
    const budget = num(thinking.thinkingBudget)
    return Either.right(
      compact({
        model,
        system,
        messages,
        tools,
        toolChoice: decodeToolChoice(b.toolConfig ?? b.tool_config),
        maxTokens: num(g.maxOutputTokens),
        temperature: num(g.temperature),
        topP: num(g.topP),
        topK: num(g.topK),
        frequencyPenalty: num(g.frequencyPenalty),
        presencePenalty: num(g.presencePenalty),
        seed: num(g.seed),
        stop: asArray(g.stopSequences).filter((s): s is string => typeof s === "string"),
        responseFormat,
        reasoning:
          budget !== undefined && budget > 0
            ? { budgetTokens: budget }
            : str(thinking.thinkingLevel)
              ? { effort: str(thinking.thinkingLevel)!.toLowerCase() }
              : undefined,
        stream: hints?.stream ?? b.stream === true,
        streamUsage: true,
        source: "gemini" as const,
        extra: unknownFields(b, KNOWN),
      }) as CanonicalRequest,
    )
  })

const MIME_BY_EXT: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  pdf: "application/pdf",
}

const encodeImage = (b: ImageBlock): JsonObject => {
  if (b.source.kind === "base64") return { inlineData: { mimeType: b.source.mediaType, data: b.source.data } }
  const ext = /\.([a-z0-9]+)(?:\?|#|$)/i.exec(b.source.url)?.[1]?.toLowerCase()
  return { fileData: { mimeType: (ext && MIME_BY_EXT[ext]) ?? "image/jpeg", fileUri: b.source.url } }
}

const encodeArgs = (input: unknown): unknown => {
  if (typeof input === "string") {
    const r = parseJson(input)
    return r.ok && isObject(r.value) ? r.value : {}
  }
  return isObject(input) ? input : {}
}

/** Canonical blocks → Gemini parts. `names` resolves tool_result ids to the called function's name. */
export const encodeParts = (
  blocks: ReadonlyArray<ContentBlock>,
  names: ReadonlyMap<string, string>,
): Array<JsonObject> => {
  const out: Array<JsonObject> = []
  for (const b of blocks) {
    const sig = "signature" in b && b.signature?.origin === "gemini" ? b.signature.value : undefined
    switch (b.type) {
      case "text":
        if (b.text !== "") out.push({ text: b.text })
        break
      case "image":
        out.push(encodeImage(b))
        break
      case "tool_use":
        out.push(compact({ functionCall: { name: b.name, args: encodeArgs(b.input) }, thoughtSignature: sig }))
        break
      case "tool_result": {
        const text = b.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("")
        const parsed = parseJson(text)
        const response = parsed.ok && isObject(parsed.value) ? parsed.value : { result: text }
        out.push({
          functionResponse: {
            name: names.get(b.toolUseId) ?? b.toolUseId,
            response: b.isError ? { error: response } : response,
          },
        })
        for (const c of b.content) if (c.type === "image") out.push(encodeImage(c))
        break
      }
      case "reasoning":
        if (sig !== undefined) out.push({ text: b.text, thought: true, thoughtSignature: sig })
        break
    }
  }
  return out
}

/**
 * A Gemini model id as one URL path segment. Gemini's own resource names (`models/gemini-2.0-flash`,
 * as its models list spells them) lose their `models/` prefix; everything else is
 * percent-encoded like a URI component, `/`, `?`, `#` and `%` included, so no model id can add a
 * path segment, a query or a fragment (a segment ending in `:generateContent` is never a dot
 * segment). Ids with another collection prefix (`tunedModels/…`) are therefore not reachable.
 */
export const geminiModelSegment = (model: string): string => {
  const id = model.startsWith("models/") ? model.slice("models/".length) : model
  try {
    return encodeURIComponent(id)
  } catch {
    // A lone surrogate: Buffer's UTF-8 replaces it with U+FFFD.
    return encodeURIComponent(Buffer.from(id, "utf8").toString("utf8"))
  }
}

export const geminiPath = (model: string, stream: boolean) =>
  stream
    ? `models/${geminiModelSegment(model)}:streamGenerateContent?alt=sse`
    : `models/${geminiModelSegment(model)}:generateContent`

export const encodeRequest = (
  req: CanonicalRequest,
  upstreamModel: string,
  opts: { stream: boolean },
): { body: JsonObject; path: string } => {
  const extra = req.source === "gemini" ? req.extra : {}
  const names = new Map<string, string>()
  for (const m of req.messages) for (const b of m.content) if (b.type === "tool_use") names.set(b.id, b.name)
  const contents = req.messages
    .map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: encodeParts(m.content, names) }))
    .filter((c) => c.parts.length > 0)
  const tc = req.toolChoice
  const toolConfig =
    tc === undefined
      ? undefined
      : {
          functionCallingConfig:
            tc.type === "tool"
              ? { mode: "ANY", allowedFunctionNames: [tc.name] }
              : { mode: tc.type === "required" ? "ANY" : tc.type === "none" ? "NONE" : "AUTO" },
        }
  const rf = req.responseFormat
  const budget = req.reasoning?.budgetTokens
  const generationConfig = compact({
    ...asObject(extra.generationConfig),
    temperature: req.temperature,
    topP: req.topP,
    topK: req.topK,
    maxOutputTokens: req.maxTokens,
    stopSequences: req.stop.length > 0 ? [...req.stop] : undefined,
    presencePenalty: req.presencePenalty,
    frequencyPenalty: req.frequencyPenalty,
    seed: req.seed,
    responseMimeType: rf && rf.type !== "text" ? "application/json" : undefined,
    responseJsonSchema: rf?.type === "json_schema" ? rf.schema : undefined,
    thinkingConfig:
      budget !== undefined
        ? { thinkingBudget: budget, includeThoughts: true }
        : req.reasoning?.effort !== undefined
          ? { thinkingLevel: req.reasoning.effort.toUpperCase(), includeThoughts: true }
          : undefined,
  })
  const body = compact({
    ...extra,
    contents,
    systemInstruction: req.system.length > 0 ? { parts: req.system.map((s) => ({ text: s.text })) } : undefined,
    tools:
      req.tools.length > 0
        ? [
            {
              functionDeclarations: req.tools.map((t) =>
                compact({ name: t.name, description: t.description, parametersJsonSchema: t.parameters }),
              ),
            },
          ]
        : undefined,
    toolConfig: req.tools.length > 0 ? toolConfig : undefined,
    generationConfig: Object.keys(generationConfig).length > 0 ? generationConfig : undefined,
  })
  return { body, path: geminiPath(upstreamModel, opts.stream) }
}
