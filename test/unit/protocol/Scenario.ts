/** Shared generators and summaries for protocol property tests. */
import { FastCheck as fc } from "effect"
import type {
  CanonicalRequest,
  ContentBlock,
  Message,
  StopReason,
  StreamEvent,
  Usage,
} from "../../../src/protocol/Canonical.js"

export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly args: Record<string, unknown>
  readonly chunks: ReadonlyArray<string>
}

export interface Scenario {
  readonly reasoning: ReadonlyArray<string>
  readonly text: ReadonlyArray<string>
  readonly tools: ReadonlyArray<ToolCall>
  readonly stop: StopReason
  readonly usage: Usage
}

const word = fc.stringMatching(/^[A-Za-z0-9 .,!?'"\\\n\u00e9\u4e2d\u{1F600}-]{1,12}$/u)
const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/)
const jsonValue = fc.oneof(fc.integer(), fc.boolean(), word, fc.constant(null))
const args = fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), jsonValue, { maxKeys: 4 })

/** Splits `s` at random cut points. */
const chunked = (s: string) =>
  fc.array(fc.nat({ max: Math.max(0, s.length) }), { maxLength: 4 }).map((cuts) => {
    const pts = [...new Set([0, ...cuts.sort((a, b) => a - b), s.length])]
    const out: Array<string> = []
    for (let i = 0; i + 1 < pts.length; i++) if (pts[i + 1]! > pts[i]!) out.push(s.slice(pts[i], pts[i + 1]))
    return out.length > 0 ? out : [s]
  })

const toolCall = (i: number) =>
  fc
    .record({ name, args })
    .chain(({ name, args }) =>
      chunked(JSON.stringify(args)).map((chunks): ToolCall => ({ id: `call_${i}_${name}`, name, args, chunks })),
    )

export const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    reasoning: fc.array(word, { maxLength: 3 }),
    text: fc.array(word, { minLength: 1, maxLength: 6 }),
    toolCount: fc.nat({ max: 3 }),
    plainStop: fc.constantFrom<StopReason>("end_turn", "max_tokens"),
    input: fc.nat({ max: 5000 }),
    cached: fc.nat({ max: 1000 }),
    output: fc.nat({ max: 5000 }),
  })
  .chain((r) =>
    fc.tuple(...Array.from({ length: r.toolCount }, (_, i) => toolCall(i))).map(
      (tools): Scenario => ({
        reasoning: r.reasoning,
        text: r.text,
        tools,
        stop: tools.length > 0 ? "tool_use" : r.plainStop,
        usage: { inputTokens: r.input + r.cached, cachedInputTokens: r.cached, outputTokens: r.output },
      }),
    ),
  )

/** The canonical events a well-formed upstream would produce for a scenario. */
export const scenarioEvents = (s: Scenario): Array<StreamEvent> => {
  const out: Array<StreamEvent> = [
    {
      type: "message_start",
      id: "up-1",
      model: "up-model",
      usage: { inputTokens: s.usage.inputTokens, cachedInputTokens: s.usage.cachedInputTokens ?? 0 },
    },
  ]
  let index = 0
  if (s.reasoning.length > 0) {
    out.push({ type: "block_start", index, block: { type: "reasoning" } })
    for (const t of s.reasoning) out.push({ type: "reasoning_delta", index, text: t })
    out.push({ type: "block_stop", index: index++ })
  }
  out.push({ type: "block_start", index, block: { type: "text" } })
  for (const t of s.text) out.push({ type: "text_delta", index, text: t })
  out.push({ type: "block_stop", index: index++ })
  for (const tc of s.tools) {
    out.push({ type: "block_start", index, block: { type: "tool_use", id: tc.id, name: tc.name } })
    for (const c of tc.chunks) out.push({ type: "tool_input_delta", index, partialJson: c })
    out.push({ type: "block_stop", index: index++ })
  }
  out.push({ type: "usage", usage: s.usage })
  out.push({ type: "stop", reason: s.stop })
  out.push({ type: "end" })
  return out
}

export interface Summary {
  text: string
  reasoning: string
  tools: Array<{ id: string; name: string; args: unknown }>
  stop: StopReason | undefined
  usage: Partial<Usage>
  ended: boolean
  error: string | undefined
}

const parseOr = (s: string): unknown => {
  if (s === "") return {}
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}

export const summarize = (events: ReadonlyArray<StreamEvent>): Summary => {
  const s: Summary = { text: "", reasoning: "", tools: [], stop: undefined, usage: {}, ended: false, error: undefined }
  const toolArgs = new Map<number, { id: string; name: string; args: string }>()
  for (const e of events) {
    switch (e.type) {
      case "message_start":
        if (e.usage) s.usage = { ...s.usage, ...e.usage }
        break
      case "block_start":
        if (e.block.type === "tool_use") toolArgs.set(e.index, { id: e.block.id, name: e.block.name, args: "" })
        break
      case "text_delta":
        s.text += e.text
        break
      case "reasoning_delta":
        s.reasoning += e.text
        break
      case "tool_input_delta":
        toolArgs.get(e.index)!.args += e.partialJson
        break
      case "usage":
        s.usage = { ...s.usage, ...e.usage }
        break
      case "stop":
        s.stop = e.reason
        break
      case "end":
        s.ended = true
        break
      case "error":
        s.error = e.error.message
        break
    }
  }
  s.tools = [...toolArgs.values()].map((t) => ({ id: t.id, name: t.name, args: parseOr(t.args) }))
  return s
}

// ---------------------------------------------------------------------------------------------
// Requests

const b64 = fc.base64String({ minLength: 4, maxLength: 16 }).filter((s) => s.length > 0)
const resultText = word.filter((t) => !t.trim().startsWith("{"))

export const conversation: fc.Arbitrary<CanonicalRequest> = fc
  .record({
    system: fc.array(word, { maxLength: 2 }),
    turns: fc.array(
      fc.record({
        user: fc.array(word, { minLength: 1, maxLength: 2 }),
        image: fc.option(b64, { nil: undefined }),
        assistant: fc.option(word, { nil: undefined }),
        tools: fc.array(fc.record({ name, args, result: resultText }), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ system, turns }): CanonicalRequest => {
    const messages: Array<Message> = []
    let n = 0
    for (const t of turns) {
      const user: Array<ContentBlock> = t.user.map((text) => ({ type: "text", text }))
      if (t.image) user.push({ type: "image", source: { kind: "base64", mediaType: "image/png", data: t.image } })
      const last = messages[messages.length - 1]
      if (last && last.role === "user")
        messages[messages.length - 1] = { role: "user", content: [...last.content, ...user] }
      else messages.push({ role: "user", content: user })
      const calls = t.tools.map((tc) => ({ ...tc, id: `call_${n++}` }))
      const assistant: Array<ContentBlock> = [
        ...(t.assistant !== undefined ? [{ type: "text" as const, text: t.assistant }] : []),
        ...calls.map((c) => ({ type: "tool_use" as const, id: c.id, name: c.name, input: c.args })),
      ]
      if (assistant.length === 0) assistant.push({ type: "text", text: "ok" })
      messages.push({ role: "assistant", content: assistant })
      if (calls.length > 0)
        messages.push({
          role: "user",
          content: calls.map((c) => ({
            type: "tool_result" as const,
            toolUseId: c.id,
            content: [{ type: "text" as const, text: c.result }],
            isError: false,
          })),
        })
    }
    return {
      model: "m",
      system: system.map((text) => ({ type: "text", text })),
      messages,
      tools: [],
      stop: [],
      stream: false,
      streamUsage: false,
      source: "openai-chat",
      extra: {},
    }
  })

/** Roles, text, images, tool calls (ids by order) and tool results, with adjacent same-role turns merged. */
export const normalizeConversation = (req: CanonicalRequest) => {
  const ids = new Map<string, string>()
  const merged: Array<{ role: string; blocks: Array<ContentBlock> }> = []
  for (const m of req.messages) {
    const last = merged[merged.length - 1]
    if (last && last.role === m.role) last.blocks.push(...m.content)
    else merged.push({ role: m.role, blocks: [...m.content] })
  }
  return {
    system: req.system.map((b) => b.text).join(""),
    messages: merged.map((m) => ({
      role: m.role,
      text: m.blocks.flatMap((b) => (b.type === "text" ? [b.text] : [])).join(""),
      images: m.blocks.flatMap((b) => (b.type === "image" && b.source.kind === "base64" ? [b.source.data] : [])),
      toolUses: m.blocks.flatMap((b) => {
        if (b.type !== "tool_use") return []
        if (!ids.has(b.id)) ids.set(b.id, `T${ids.size}`)
        return [{ id: ids.get(b.id), name: b.name, input: b.input }]
      }),
      toolResults: m.blocks.flatMap((b) =>
        b.type === "tool_result"
          ? [
              {
                id: ids.get(b.toolUseId) ?? "?",
                text: b.content.flatMap((c) => (c.type === "text" ? [c.text] : [])).join(""),
              },
            ]
          : [],
      ),
    })),
  }
}
