import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  type Behaviour,
  type MockProvider,
  type ReceivedRequest,
  startMockProvider,
} from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Mid-stream rescue (issue 12 item 6), end to end through each official SDK: a stream that breaks
 * after the client got its first words is continued by the next candidate — with the delivered
 * text as an assistant prefill where the target takes one (Anthropic), else by asking again and
 * forwarding only what follows the delivered text — and the client reads one continuous answer,
 * compared character for character. Where it cannot be continued (a tool call already partly
 * sent, a new answer that does not start with the delivered text, rescue switched off) the stream
 * still ends with the in-band error, never as a truncated success.
 */

const FULL =
  "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun while the river keeps on flowing past the old mill."

/** Text of the trailing assistant message of a request body (the prefill), if it ends with one. */
const prefillOf = (request: ReceivedRequest): string | undefined => {
  const body = request.body as {
    messages?: Array<{ role: string; content: unknown }>
    contents?: Array<{ role: string; parts: Array<{ text?: string }> }>
  }
  const last = body.messages?.at(-1)
  if (last !== undefined) {
    if (last.role !== "assistant") return undefined
    if (typeof last.content === "string") return last.content
    return (last.content as Array<{ text?: string }>).map((b) => b.text ?? "").join("")
  }
  const turn = body.contents?.at(-1)
  return turn?.role === "model" ? turn.parts.map((p) => p.text ?? "").join("") : undefined
}

/** A provider that continues a prefill: the rest of FULL after it; the whole of FULL otherwise. */
const continuesPrefill = (request: ReceivedRequest): Behaviour => {
  const prefill = prefillOf(request)
  if (prefill === undefined) return { text: FULL, chunkCount: 6 }
  expect(FULL.startsWith(prefill)).toBe(true)
  return { text: FULL.slice(prefill.length), chunkCount: 4 }
}

/** A provider that refuses any prefill with 400 (newer Claude models do), like failoverbench's `ok-noprefill`. */
const refusesPrefill = (request: ReceivedRequest): Behaviour =>
  prefillOf(request) === undefined
    ? { text: FULL, chunkCount: 6 }
    : {
        status: 400,
        errorMessage:
          "This model does not support assistant message prefill. The conversation must end with a user message.",
      }

describe("mid-stream rescue through the official SDKs", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let off: TestGateway
  let openai: OpenAI
  let anthropic: Anthropic
  let gemini: GoogleGenAI

  const provider = (id: string, protocol: string, mock: MockProvider, model: string) => ({
    id,
    protocol,
    base_url: mock.url,
    keys: [{ value: `key-${id}` }],
    models: [model],
  })
  const pair = (id: string, primaryModel: string, backupModel: string) => ({
    id,
    upstreams: [
      { provider: `${id}-main`, model: primaryModel, priority: 0 },
      { provider: `${id}-fb`, model: backupModel, priority: 1 },
    ],
  })
  const gatewayFile = () => ({
    providers: [
      provider("chat-main", "openai", primary, "gpt-main"),
      provider("chat-fb", "openai", backup, "gpt-fb"),
      provider("claude-main", "anthropic", primary, "claude-main"),
      provider("claude-fb", "anthropic", backup, "claude-fb"),
      provider("strict-main", "anthropic", primary, "strict-main"),
      provider("strict-fb", "anthropic", backup, "strict-fb"),
      provider("gem-main", "gemini", primary, "gem-main"),
      provider("gem-fb", "gemini", backup, "gem-fb"),
      provider("solo-main", "openai", primary, "solo-main"),
      provider("pre-main", "openai", primary, "pre-main"),
      // An OpenAI-compatible provider that continues a prefill (DeepSeek-style), marked so.
      { ...provider("pre-fb", "openai", backup, "pre-fb"), prefill: true },
    ],
    logical_models: [
      pair("chat", "gpt-main", "gpt-fb"),
      pair("claude", "claude-main", "claude-fb"),
      pair("strict", "strict-main", "strict-fb"),
      pair("gem", "gem-main", "gem-fb"),
      { id: "solo", upstreams: [{ provider: "solo-main", model: "solo-main" }] },
      pair("pre", "pre-main", "pre-fb"),
    ],
  })
  const env = {
    UPSTREAM_HEADERS_TIMEOUT: "2 seconds",
    UPSTREAM_FIRST_TOKEN_TIMEOUT: "2 seconds",
    UPSTREAM_IDLE_TIMEOUT: "700 millis",
    CIRCUIT_FAILURE_THRESHOLD: "1000",
  }

  beforeAll(async () => {
    primary = await startMockProvider({ chunkCount: 6 })
    backup = await startMockProvider({ chunkCount: 6 })
    gateway = await startTestGateway({ env, gatewayFile: gatewayFile() })
    off = await startTestGateway({ env: { ...env, MIDSTREAM_RESCUES: "0" }, gatewayFile: gatewayFile() })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: gateway.masterKey, maxRetries: 0 })
    gemini = new GoogleGenAI({ apiKey: gateway.masterKey, httpOptions: { baseUrl: gateway.url } })
  })

  afterAll(async () => {
    await gateway?.close()
    await off?.close()
    await primary?.close()
    await backup?.close()
  })

  beforeEach(() => {
    primary.reset()
    backup.reset()
  })

  const forModel = (mock: MockProvider, model: string) => mock.received.filter((r) => r.model === model)

  /** The text an OpenAI SDK stream delivered, and whether it finished or threw. */
  const readChat = async (client: OpenAI, model: string) => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "tell me" }],
      stream: true,
    })
    let text = ""
    let finish: string | null | undefined
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? ""
        finish = chunk.choices[0]?.finish_reason ?? finish
      }
      return { text, finish, error: undefined }
    } catch (error) {
      return { text, finish, error }
    }
  }

  it("openai SDK: a stream cut mid-answer is continued by the fallback (asked again, the delivered text matched), one continuous answer", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    backup.setDefault({ text: FULL, chunkCount: 6 })
    const answer = await readChat(openai, "chat")
    expect(answer.error).toBeUndefined()
    expect(answer.text).toBe(FULL)
    expect(answer.finish).toBe("stop")
    // OpenAI-style providers are asked again, never with a prefill (they would answer anew).
    expect(forModel(backup, "gpt-fb")).toHaveLength(1)
    expect(prefillOf(forModel(backup, "gpt-fb")[0]!)).toBeUndefined()
    expect(gateway.logs.some((l) => l.includes('msg="stream rescued"') && l.includes("mode=restart"))).toBe(true)
  })

  it("anthropic SDK: the fallback continues the delivered text as a prefill; finalMessage is the whole answer", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 5 })
    backup.setDefault(continuesPrefill)
    const message = await anthropic.messages
      .stream({ model: "claude", max_tokens: 200, messages: [{ role: "user", content: "tell me" }] })
      .finalMessage()
    expect(message.content).toHaveLength(1)
    expect(message.content[0]!.type === "text" && message.content[0]!.text).toBe(FULL)
    expect(message.stop_reason).toBe("end_turn")
    const asked = forModel(backup, "claude-fb")
    expect(asked).toHaveLength(1)
    // The prefill is what the client had, without trailing whitespace (Anthropic refuses that).
    const prefill = prefillOf(asked[0]!)!
    expect(prefill.length).toBeGreaterThan(0)
    expect(prefill).toBe(prefill.trimEnd())
    expect(FULL.startsWith(prefill)).toBe(true)
  })

  it("a fallback that refuses the prefill (400) is asked again without it; the 400 never reaches the client", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 5 })
    backup.setDefault(refusesPrefill)
    const message = await anthropic.messages
      .stream({ model: "strict", max_tokens: 200, messages: [{ role: "user", content: "tell me" }] })
      .finalMessage()
    expect(message.content[0]!.type === "text" && message.content[0]!.text).toBe(FULL)
    const asked = forModel(backup, "strict-fb")
    expect(asked.map((r) => prefillOf(r) !== undefined)).toEqual([true, false])
  })

  it("a provider marked `prefill: true` is continued with a prefill whatever its protocol", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    backup.setDefault(continuesPrefill)
    const answer = await readChat(openai, "pre")
    expect(answer.error).toBeUndefined()
    expect(answer.text).toBe(FULL)
    const asked = forModel(backup, "pre-fb")
    expect(asked).toHaveLength(1)
    expect(FULL.startsWith(prefillOf(asked[0]!)!)).toBe(true)
  })

  it("@google/genai: a Gemini stream cut mid-answer is continued, text compared character for character", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    backup.setDefault({ text: FULL, chunkCount: 5 })
    let text = ""
    let finish: string | undefined
    for await (const chunk of await gemini.models.generateContentStream({ model: "gem", contents: "tell me" })) {
      text += chunk.text ?? ""
      finish = chunk.candidates?.[0]?.finishReason ?? finish
    }
    expect(text).toBe(FULL)
    expect(finish).toBe("STOP")
  })

  it("translated: an OpenAI client whose Anthropic upstream breaks is continued through the Anthropic fallback's prefill", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 6 })
    backup.setDefault(continuesPrefill)
    const answer = await readChat(openai, "claude")
    expect(answer.error).toBeUndefined()
    expect(answer.text).toBe(FULL)
    expect(answer.finish).toBe("stop")
  })

  it("a stall past the idle timeout is continued too", async () => {
    primary.script({ text: FULL, chunkCount: 8, stallAfterChunks: 4 })
    backup.setDefault({ text: FULL, chunkCount: 6 })
    const started = Date.now()
    const answer = await readChat(openai, "chat")
    expect(answer.text).toBe(FULL)
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it("a single model: the same upstream is asked again after a short back-off", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    primary.setDefault({ text: FULL, chunkCount: 6 })
    const answer = await readChat(openai, "solo")
    expect(answer.text).toBe(FULL)
    expect(forModel(primary, "solo-main")).toHaveLength(2)
  })

  it("a single unreadable frame is skipped and logged; the stream completes without a second call", async () => {
    primary.script({ text: FULL, chunkCount: 8, malformedAfterChunks: 3, malformedThen: "continue" })
    const answer = await readChat(openai, "chat")
    expect(answer.error).toBeUndefined()
    expect(answer.text).toBe(FULL)
    expect(forModel(backup, "gpt-fb")).toHaveLength(0)
    expect(gateway.logs.some((l) => l.includes("skipped unreadable upstream stream frames"))).toBe(true)
  })

  it("a new answer that does not start with the delivered text is never spliced on: in-band error", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    backup.setDefault({ text: "Something else entirely, said differently.", chunkCount: 3 })
    const answer = await readChat(openai, "chat")
    expect(answer.error).toBeInstanceOf(OpenAI.APIError)
    expect(FULL.startsWith(answer.text)).toBe(true)
    expect(answer.text.length).toBeLessThan(FULL.length)
    expect(answer.text).not.toContain("Something else")
  })

  it("a tool call already partly sent is not continued: in-band error", async () => {
    primary.script({
      toolCalls: [{ name: "get_weather", arguments: { city: "Paris", days: 3, units: "metric" } }],
      chunkCount: 8,
      cutAfterChunks: 4,
    })
    backup.setDefault({ text: FULL })
    const stream = await openai.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "weather?" }],
      stream: true,
    })
    const error = await (async () => {
      for await (const _ of stream) void _
    })().catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(forModel(backup, "gpt-fb")).toHaveLength(0)
    expect(gateway.logs.some((l) => l.includes('msg="stream not rescued"') && l.includes("tool call"))).toBe(true)
  })

  it("rescue switched off (MIDSTREAM_RESCUES=0): the cut ends with the in-band error, nothing asked", async () => {
    primary.script({ text: FULL, chunkCount: 8, cutAfterChunks: 4 })
    backup.setDefault({ text: FULL })
    const client = new OpenAI({ baseURL: `${off.url}/v1`, apiKey: off.masterKey, maxRetries: 0 })
    const answer = await readChat(client, "chat")
    expect(answer.error).toBeInstanceOf(OpenAI.APIError)
    expect(answer.text.length).toBeLessThan(FULL.length)
    expect(forModel(backup, "gpt-fb")).toHaveLength(0)
  })
})
