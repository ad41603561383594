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
 * Mid-stream rescue (issue 12 item 6) for clients of the OpenAI Responses API, through the
 * official `openai` SDK (`responses.stream` and `responses.create({ stream: true })`): a stream
 * cut after the client got its first words is continued by the fallback — an OpenAI provider
 * asked the same request again on its Responses endpoint (the first part was relayed as is),
 * or an Anthropic provider continuing the delivered text as a prefill (translated) — and the
 * client reads one answer, compared character for character, with `finalResponse()` holding it
 * whole.
 */

/** Multi-byte characters, doubled spaces, a tab; the cut comes right after the "\n\n". */
const CHUNKS = [
  "Première ligne — ",
  "déjà vue.\n\n",
  "   Deuxième 😀 ",
  "ligne :  espaces",
  "  doubles,\tune ",
  "tabulation, 中文",
  " et fin.",
]
const FULL = CHUNKS.join("")
/** What the client has when the primary is cut (two text deltas in), and the prefill sent for it. */
const DELIVERED = CHUNKS[0]! + CHUNKS[1]!
const PREFILL = DELIVERED.trimEnd()

/** Frames each primary sends before its first text delta (Responses: created, in_progress, item added, part added; Anthropic: message_start, block start, ping). */
const cutAfterTwoDeltas = (dialect: "responses" | "anthropic"): Behaviour => ({
  chunks: CHUNKS,
  cutAfterChunks: (dialect === "responses" ? 4 : 3) + 2,
})

/** Text of the trailing assistant message of an Anthropic request body (the prefill), if it ends with one. */
const prefillOf = (request: ReceivedRequest): string | undefined => {
  const last = (request.body as { messages?: Array<{ role: string; content: unknown }> }).messages?.at(-1)
  if (last === undefined || last.role !== "assistant") return undefined
  return typeof last.content === "string"
    ? last.content
    : (last.content as Array<{ text?: string }>).map((b) => b.text ?? "").join("")
}

/** An Anthropic fallback that continues a prefill: what follows it in FULL (whitespace included), in other chunks. */
const continuesPrefill = (request: ReceivedRequest): Behaviour => {
  const prefill = prefillOf(request)
  if (prefill === undefined) return { text: FULL, chunkCount: 5 }
  if (!FULL.startsWith(prefill))
    return { status: 400, errorMessage: `prefill is not a prefix of the answer: ${JSON.stringify(prefill)}` }
  return { text: FULL.slice(prefill.length), chunkCount: 3 }
}

describe("mid-stream rescue through the openai SDK's Responses streaming API", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  const provider = (id: string, protocol: string, mock: MockProvider, model: string) => ({
    id,
    protocol,
    base_url: mock.url,
    keys: [{ value: `key-${id}` }],
    models: [model],
  })
  const pair = (id: string, main: string, mainModel: string, fb: string, fbModel: string) => ({
    id,
    upstreams: [
      { provider: main, model: mainModel, priority: 0 },
      { provider: fb, model: fbModel, priority: 1 },
    ],
  })

  beforeAll(async () => {
    primary = await startMockProvider()
    backup = await startMockProvider()
    gateway = await startTestGateway({
      env: {
        UPSTREAM_HEADERS_TIMEOUT: "2 seconds",
        UPSTREAM_FIRST_TOKEN_TIMEOUT: "2 seconds",
        UPSTREAM_IDLE_TIMEOUT: "700 millis",
        CIRCUIT_FAILURE_THRESHOLD: "1000",
      },
      gatewayFile: {
        providers: [
          provider("oai-main", "openai", primary, "gpt-main"),
          provider("oai-fb", "openai", backup, "gpt-fb"),
          provider("claude-main", "anthropic", primary, "claude-main"),
          provider("claude-fb", "anthropic", backup, "claude-fb"),
        ],
        logical_models: [
          pair("resp", "oai-main", "gpt-main", "oai-fb", "gpt-fb"),
          pair("claude", "claude-main", "claude-main", "claude-fb", "claude-fb"),
          pair("mixed", "oai-main", "gpt-main", "claude-fb", "claude-fb"),
        ],
      },
    })
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await primary?.close()
    await backup?.close()
  })

  beforeEach(() => {
    primary.reset()
    backup.reset()
  })

  /** `responses.stream`: the text of its output_text deltas, every event, and `finalResponse()`. */
  const streamAnswer = async (model: string) => {
    const stream = client.responses.stream({ model, input: "tell me" })
    let text = ""
    const events: Array<OpenAI.Responses.ResponseStreamEvent> = []
    for await (const event of stream) {
      events.push(event)
      if (event.type === "response.output_text.delta") text += event.delta
    }
    const final = await stream.finalResponse()
    // The gateway keeps the turn (no provider here stores Responses): one id across the seam,
    // and the stored copy holds the whole answer.
    expect(new Set(events.flatMap((e) => ("response" in e ? [e.response.id] : [])))).toEqual(new Set([final.id]))
    expect((await client.responses.retrieve(final.id)).output_text).toBe(final.output_text)
    return { text, events, final }
  }

  const messageTexts = (final: OpenAI.Responses.Response) =>
    final.output.flatMap((item) =>
      item.type === "message" ? item.content.flatMap((c) => (c.type === "output_text" ? [c.text] : [])) : [],
    )

  it("same dialect: the relayed Responses stream, cut, is continued by the fallback's Responses endpoint (asked again)", async () => {
    primary.script(cutAfterTwoDeltas("responses"))
    backup.setDefault({ text: FULL, chunkCount: 6 })
    const { text, events, final } = await streamAnswer("resp")
    expect(text).toBe(FULL)
    expect(final.output_text).toBe(FULL)
    expect(final.status).toBe("completed")
    expect(messageTexts(final)).toEqual([FULL])
    expect(events.filter((e) => e.type === "response.completed")).toHaveLength(1)
    expect(events.some((e) => e.type === "error" || e.type === "response.failed")).toBe(false)
    // One message item for the client: the continuation writes into the item it already has.
    expect(events.filter((e) => e.type === "response.output_item.added")).toHaveLength(1)
    const asked = backup.received.filter((r) => r.model === "gpt-fb")
    expect(asked.map((r) => r.path)).toEqual(["/v1/responses"])
    expect((asked[0]!.body as { stream?: boolean }).stream).toBe(true)
    expect(gateway.logs.some((l) => l.includes('msg="stream rescued"') && l.includes("mode=restart"))).toBe(true)
  })

  it("translated: an Anthropic upstream cut mid-answer is continued by the Anthropic fallback's prefill, whitespace not doubled", async () => {
    primary.script(cutAfterTwoDeltas("anthropic"))
    backup.setDefault(continuesPrefill)
    const { text, final } = await streamAnswer("claude")
    expect(text).toBe(FULL)
    expect(final.output_text).toBe(FULL)
    expect(final.status).toBe("completed")
    expect(messageTexts(final)).toEqual([FULL])
    const asked = backup.received.filter((r) => r.model === "claude-fb")
    expect(asked).toHaveLength(1)
    // The prefill is exactly what the client had, without its trailing "\n\n".
    expect(prefillOf(asked[0]!)).toBe(PREFILL)
    expect(gateway.logs.some((l) => l.includes('msg="stream rescued"') && l.includes("mode=prefill"))).toBe(true)
  })

  it("relayed then translated: a Responses stream passed through, cut, is continued by an Anthropic fallback's prefill (responses.create stream)", async () => {
    primary.script(cutAfterTwoDeltas("responses"))
    backup.setDefault(continuesPrefill)
    const stream = await client.responses.create({ model: "mixed", input: "tell me", stream: true })
    let text = ""
    let completed: OpenAI.Responses.Response | undefined
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") text += event.delta
      if (event.type === "response.completed") completed = event.response
    }
    expect(text).toBe(FULL)
    expect(completed?.status).toBe("completed")
    expect(completed && messageTexts(completed)).toEqual([FULL])
    expect(prefillOf(backup.received.find((r) => r.model === "claude-fb")!)).toBe(PREFILL)
  })

  it("a fallback whose answer does not start with the delivered text is never spliced on: the stream ends with its error event", async () => {
    primary.script(cutAfterTwoDeltas("responses"))
    backup.setDefault({ text: "Une tout autre réponse.", chunkCount: 3 })
    const stream = client.responses.stream({ model: "resp", input: "tell me" })
    let text = ""
    // The SDK turns the in-band `error` event into a failure of the stream (whether the loop
    // itself throws depends on whether it was waiting for an event when it came).
    await (async () => {
      for await (const event of stream) {
        if (event.type === "response.output_text.delta") text += event.delta
        expect(event.type).not.toBe("response.completed")
      }
    })().catch(() => undefined)
    await expect(stream.finalResponse()).rejects.toThrow(/upstream/)
    expect(text).toBe(DELIVERED)
    expect(backup.received.filter((r) => r.model === "gpt-fb")).toHaveLength(1)
    expect(
      gateway.logs.some(
        (l) => l.includes('msg="continuation failed"') && l.includes("does not start with the text already sent"),
      ),
    ).toBe(true)
  })
})
