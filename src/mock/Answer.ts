import type { Behaviour, FinishReason } from "./Behaviour.js"

/** What the last turn of a conversation looks like, extracted by each dialect. */
export interface Prompt {
  /** Text of the last user message ("" when none). */
  readonly lastUserText: string
  /** The conversation ends with a tool/function result (so answer with text, not another call). */
  readonly endsWithToolResult: boolean
  /** Names of the tools the request offers. */
  readonly toolNames: ReadonlyArray<string>
  /** Rough size of the whole prompt in characters (for the token estimate). */
  readonly promptChars: number
}

export interface ToolCall {
  readonly id: string
  readonly name: string
  /** JSON-encoded arguments. */
  readonly arguments: string
  readonly args: unknown
  /** `arguments` split in stream fragments. */
  readonly argumentChunks: ReadonlyArray<string>
}

export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedTokens: number
  readonly cacheCreationTokens: number
  readonly reasoningTokens: number
}

/** A dialect-neutral answer; each dialect renders it in its own wire format. */
export interface Answer {
  readonly text: string
  readonly chunks: ReadonlyArray<string>
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly thinking: string | undefined
  readonly finishReason: FinishReason
  readonly usage: Usage
}

const MAX_ECHO = 200

/** Splits text at word boundaries into at most `n` pieces that concatenate back to it. */
export const splitText = (text: string, n: number): Array<string> => {
  if (text === "") return []
  const words = text.match(/\S+\s*|\s+/g) ?? [text]
  const count = Math.max(1, Math.min(n, words.length))
  const out: Array<string> = []
  const per = words.length / count
  for (let i = 0; i < count; i++) out.push(words.slice(Math.round(i * per), Math.round((i + 1) * per)).join(""))
  return out
}

const splitArguments = (json: string): Array<string> => {
  if (json.length < 2) return [json]
  const mid = Math.ceil(json.length / 2)
  return [json.slice(0, mid), json.slice(mid)]
}

const estimate = (chars: number) => Math.max(1, Math.ceil(chars / 4))

export const planAnswer = (
  b: Behaviour,
  prompt: Prompt,
  defaultChunkCount: number,
  idFor: (i: number) => string,
): Answer => {
  const scriptedText = b.chunks ? b.chunks.join("") : b.text
  const specs =
    b.toolCalls ??
    (scriptedText === undefined &&
    prompt.toolNames.length > 0 &&
    !prompt.endsWithToolResult &&
    /\bweather\b/i.test(prompt.lastUserText)
      ? [
          {
            name: prompt.toolNames.find((n) => /weather/i.test(n)) ?? prompt.toolNames[0]!,
            arguments: { location: "Paris" },
          },
        ]
      : [])
  const toolCalls = specs.map((s, i): ToolCall => {
    const encoded = typeof s.arguments === "string" ? s.arguments : JSON.stringify(s.arguments ?? {})
    let args: unknown
    try {
      args = JSON.parse(encoded)
    } catch {
      args = {}
    }
    return { id: s.id ?? idFor(i), name: s.name, arguments: encoded, args, argumentChunks: splitArguments(encoded) }
  })
  const text =
    scriptedText ??
    (toolCalls.length > 0
      ? ""
      : `Hello from mock: ${prompt.lastUserText.length > MAX_ECHO ? prompt.lastUserText.slice(0, MAX_ECHO) : prompt.lastUserText}`)
  const chunks = b.chunks ? b.chunks.filter((c) => c !== "") : splitText(text, b.chunkCount ?? defaultChunkCount)
  const u = b.usage ?? {}
  const outputTokens =
    u.outputTokens ??
    estimate(
      text.length + (b.thinking?.length ?? 0) + toolCalls.reduce((n, t) => n + t.name.length + t.arguments.length, 0),
    )
  return {
    text,
    chunks,
    toolCalls,
    thinking: b.thinking,
    finishReason: b.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
    usage: {
      inputTokens: u.inputTokens ?? estimate(prompt.promptChars),
      outputTokens,
      cachedTokens: u.cachedTokens ?? 0,
      cacheCreationTokens: u.cacheCreationTokens ?? 0,
      reasoningTokens: u.reasoningTokens ?? (b.thinking ? estimate(b.thinking.length) : 0),
    },
  }
}

/** Text of a content value that is a string or an array of `{ text }` parts. */
export const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    let s = ""
    for (const p of content) if (p && typeof p.text === "string") s += (s ? "\n" : "") + p.text
    return s
  }
  return ""
}
