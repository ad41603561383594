import Anthropic from "@anthropic-ai/sdk"
import { beforeAll, describe, expect, it } from "vitest"
import { SIGNATURE as MOCK_SIGNATURE } from "../../src/mock/Anthropic.js"
import type { ReceivedRequest } from "../../src/mock/MockProvider.js"
import { useMockGateway } from "../support/MockGateway.js"
import { protocolProviders } from "../support/ProtocolProviders.js"
import {
  expectOnlyFeatureHeaders,
  expectPassedThrough,
  expectUpstreamExchange,
  loadSession,
  REPLAY_TARGETS,
  type RecordedTurn,
  type ReplayTarget,
} from "../support/RecordedSession.js"
import { type RecordedCall, recordingFetch } from "../support/RecordingFetch.js"

const session = loadSession("claude-code")

type Message = Anthropic.Beta.BetaMessage

/**
 * A recorded Claude Code session (fixtures/claude-code/session.json) replayed through the
 * Anthropic SDK with Claude Code's headers and `?beta=true`, against an Anthropic, an OpenAI and
 * a Gemini upstream: every answer is valid Anthropic Messages (the SDK assembles the stream), and
 * each upstream gets what it should — the session byte for byte with Claude Code's feature
 * headers when it speaks Anthropic, a faithful conversion otherwise.
 */
/**
 * One gateway for the file: every target is a provider of the same providers file, and each turn
 * scripts the mock (reset before every test) and reads only what its own request sent.
 */
const t = useMockGateway({ gatewayFile: (mockUrl) => ({ providers: protocolProviders(mockUrl) }) })

describe.each(REPLAY_TARGETS)("Claude Code session against an $protocol upstream", (target) => {
  const sent = recordingFetch()
  let claude: Anthropic

  beforeAll(() => {
    claude = new Anthropic({ baseURL: t.gateway.url, apiKey: t.gateway.masterKey, maxRetries: 0, fetch: sent.fetch })
  })

  const options = { headers: session.headers, query: Object.fromEntries(new URLSearchParams(session.query)) }

  const send = async (turn: RecordedTurn): Promise<Message | Anthropic.Beta.BetaMessageTokensCount> => {
    const body = { ...turn.body, model: target.model } as never
    if (turn.kind === "count_tokens") return claude.beta.messages.countTokens(body, options)
    if (turn.body.stream === true) return claude.beta.messages.stream(body, options).finalMessage()
    return claude.beta.messages.create(body, options) as Promise<Message>
  }

  it.each(session.turns)("$name", async (turn) => {
    if (turn.upstream !== undefined) t.mock.script(turn.upstream)
    const answer = await send(turn)
    const client = sent.last()
    expect(client.url).toContain("?beta=true")

    if (turn.kind === "count_tokens")
      return expectCounted(answer as Anthropic.Beta.BetaMessageTokensCount, client, t.mock.received, target)
    expectValidMessage(answer as Message, turn, target)
    const native = {
      protocol: "anthropic",
      path: "/v1/messages",
      forwarded: ["anthropic-beta", "anthropic-version"],
    } as const
    expectUpstreamExchange({ session, turn, target, client }, t.mock.received, native, (received) =>
      expectConverted(received, turn, target),
    )
  })
})

/** The answer is a whole Anthropic message with what the turn expects. */
const expectValidMessage = (message: Message, turn: RecordedTurn, target: ReplayTarget) => {
  expect(message).toMatchObject({ type: "message", role: "assistant" })
  // Passed through byte for byte the provider's spelling; converted, the name the client asked for.
  expect(message.model).toBe(target.protocol === "anthropic" ? target.upstreamModel : target.model)
  expect(message.id).toMatch(/^msg_/)
  expect(message.stop_reason).toBe(turn.expect?.stop_reason)
  expect(message.usage.input_tokens).toBeGreaterThan(0)
  expect(message.usage.output_tokens).toBeGreaterThan(0)
  const text = message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("")
  if (turn.expect?.text !== undefined) expect(text).toBe(turn.expect.text)
  const toolUse = message.content.find((b) => b.type === "tool_use")
  if (turn.expect?.tool_use !== undefined) {
    expect(toolUse).toMatchObject({ name: turn.expect.tool_use.name, input: turn.expect.tool_use.input })
    expect(toolUse?.id).toMatch(/\S/)
    // The tool call is the last block, as Claude Code expects before it runs the tool.
    expect(message.content.at(-1)?.type).toBe("tool_use")
  }
  const thinking = message.content.find((b) => b.type === "thinking")
  if (turn.upstream?.thinking !== undefined) {
    expect(thinking).toMatchObject({ type: "thinking", thinking: turn.upstream.thinking })
    // Signed by the provider that thought it: replayable in the next turn only to that provider.
    if (target.protocol === "anthropic") expect(thinking).toMatchObject({ signature: MOCK_SIGNATURE })
    expect(message.content[0]!.type).toBe("thinking")
  }
}

/** Counted by the provider (converted to Gemini's countTokens) or estimated where the protocol cannot count. */
const expectCounted = (
  count: Anthropic.Beta.BetaMessageTokensCount,
  client: RecordedCall,
  received: ReadonlyArray<ReceivedRequest>,
  target: ReplayTarget,
) => {
  const headers = client.responseHeaders!
  expect(count.input_tokens).toBeGreaterThan(0)
  if (target.protocol === "openai") {
    expect(headers.get("x-apiproxy-token-count")).toBe("estimate")
    expect(received).toHaveLength(0)
    return
  }
  expect(headers.get("x-apiproxy-token-count")).toBe("provider")
  expect(received).toHaveLength(1)
  expect(received[0]!.path).toBe(
    target.protocol === "anthropic"
      ? "/v1/messages/count_tokens"
      : `/v1beta/models/${target.upstreamModel}:countTokens`,
  )
  if (target.protocol === "anthropic") {
    expectPassedThrough(received[0]!, client.body, target.upstreamModel)
    expectOnlyFeatureHeaders(received[0]!, session, ["anthropic-beta", "anthropic-version"])
  }
}

/** What an OpenAI or Gemini upstream must get of a Claude Code turn. */
const expectConverted = (received: ReceivedRequest, turn: RecordedTurn, target: ReplayTarget) => {
  expect(received.model).toBe(target.upstreamModel)
  expect(received.path).toBe(
    target.protocol === "openai"
      ? "/v1/chat/completions"
      : `/v1beta/models/${target.upstreamModel}:${turn.body.stream === true ? "streamGenerateContent" : "generateContent"}`,
  )
  expectOnlyFeatureHeaders(received, session, [])
  const sent = JSON.stringify(received.body)
  // Claude Code's tools arrive as function declarations, with their schemas.
  const toolNames = ((turn.body.tools as Array<{ name: string }> | undefined) ?? []).map((tool) => tool.name)
  for (const name of toolNames) expect(sent).toContain(`"name":"${name}"`)
  if (turn.body.system !== undefined)
    expect(sent).toContain("You are Claude Code, Anthropic's official CLI for Claude.")
  expect(sent).not.toContain("cache_control")
  const history = (turn.body.messages as Array<{ content: unknown }>).flatMap((m) =>
    Array.isArray(m.content) ? m.content : [],
  )
  const toolResult = history.find((block) => block.type === "tool_result")
  if (toolResult !== undefined) {
    // The round trip: the call and its result, paired by id (OpenAI) or by name (Gemini).
    if (target.protocol === "openai") {
      const messages = (received.body as { messages: Array<Record<string, unknown>> }).messages
      expect(messages.find((m) => m.role === "assistant")).toMatchObject({
        tool_calls: [{ id: toolResult.tool_use_id, type: "function", function: { name: "Bash" } }],
      })
      expect(messages.find((m) => m.role === "tool")).toEqual({
        role: "tool",
        tool_call_id: toolResult.tool_use_id,
        content: toolResult.content,
      })
    } else {
      expect(sent).toContain(
        `"functionCall":{"name":"Bash","args":{"command":"ls","description":"List files in current directory"}}`,
      )
      expect(sent).toContain(
        `"functionResponse":{"name":"Bash","response":{"result":${JSON.stringify(toolResult.content)}}}`,
      )
    }
    // Anthropic's signed thinking cannot be read by another provider: left out (and reported).
    expect(sent).not.toContain("signature")
  }
}
