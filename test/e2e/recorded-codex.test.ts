import OpenAI from "openai"
import { beforeAll, describe, expect, it } from "vitest"
import { SIGNATURE as MOCK_SIGNATURE } from "../../src/mock/Anthropic.js"
import type { ReceivedRequest } from "../../src/mock/MockProvider.js"
import { useMockGateway } from "../support/MockGateway.js"
import { protocolProviders } from "../support/ProtocolProviders.js"
import {
  expectOnlyFeatureHeaders,
  expectUpstreamExchange,
  loadSession,
  REPLAY_TARGETS,
  type RecordedSession,
  type RecordedTurn,
  type ReplayTarget,
} from "../support/RecordedSession.js"
import { recordingFetch } from "../support/RecordingFetch.js"

const session = loadSession("codex")

/**
 * One gateway for the file: every target is a provider of the same providers file, each test
 * scripts the mock (reset before every test) and reads only what its own requests sent, and a
 * `previous_response_id` names a response of the test's own.
 */
const t = useMockGateway({ gatewayFile: (mockUrl) => ({ providers: protocolProviders(mockUrl) }) })

type Item = { readonly type: string } & Record<string, unknown>

/** One turn as Codex sends it (its headers, streamed), for `target`'s model; the SDK assembles the answer. */
const streamed = (client: OpenAI, body: Record<string, unknown>, target: ReplayTarget, recorded: RecordedSession) =>
  client.responses
    .stream({ ...body, model: target.model } as unknown as OpenAI.Responses.ResponseCreateParamsStreaming, {
      headers: recorded.headers,
    })
    .finalResponse()

/**
 * A recorded Codex CLI session (fixtures/codex/session.json: stateless, `store: false`, the whole
 * input every turn) replayed through the openai SDK's Responses streaming with Codex's headers,
 * against an OpenAI (Responses), an Anthropic and a Gemini upstream: every answer is a valid
 * Responses stream (the SDK assembles it), and each upstream gets what it should — the session
 * byte for byte with `OpenAI-Beta` when it speaks Responses, a faithful conversion otherwise, and
 * a 400 naming the hosted tool it cannot run.
 */
describe.each(REPLAY_TARGETS)("Codex CLI session against an $protocol upstream", (target) => {
  const sent = recordingFetch()
  let codex: OpenAI

  beforeAll(() => {
    codex = new OpenAI({
      baseURL: `${t.gateway.url}/v1`,
      apiKey: t.gateway.masterKey,
      maxRetries: 0,
      fetch: sent.fetch,
    })
  })

  const send = (turn: RecordedTurn) => streamed(codex, turn.body, target, session)

  it.each(session.turns)("$name", async (turn) => {
    if (turn.upstream !== undefined) t.mock.script(turn.upstream)
    const refusal = target.protocol === "openai" ? undefined : turn.expect?.refusedWhenConverted
    if (refusal !== undefined) {
      const error = await send(turn).catch((e) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error.error).toMatchObject({ type: "invalid_request_error", code: "unsupported_feature" })
      expect(error.message).toContain(refusal)
      expect(error.message).toContain(`${target.protocol} provider protocol`)
      expect(t.mock.received).toHaveLength(0)
      return
    }
    const response = await send(turn)
    const client = sent.last()
    expectValidResponse(response, turn)
    const native = { protocol: "openai", path: "/v1/responses", forwarded: ["openai-beta"] } as const
    expectUpstreamExchange({ session, turn, target, client }, t.mock.received, native, (received) =>
      expectConverted(received, turn, target),
    )
  })
})

/** The answer is a completed Response with what the turn expects, as Codex reads it. */
const expectValidResponse = (response: OpenAI.Responses.Response, turn: RecordedTurn) => {
  expect(response).toMatchObject({ object: "response", status: "completed" })
  expect(response.id).toMatch(/^resp_/)
  expect(response.usage!.input_tokens).toBeGreaterThan(0)
  const output = response.output as unknown as ReadonlyArray<Item>
  if (turn.expect?.text !== undefined) expect(response.output_text).toBe(turn.expect.text)
  const call = output.find((item) => item.type === "function_call")
  if (turn.expect?.function_call !== undefined) {
    expect(call).toMatchObject({ type: "function_call", name: turn.expect.function_call.name })
    expect(JSON.parse(call!.arguments as string)).toEqual(turn.expect.function_call.arguments)
    // Codex pairs the call with its output by call_id in the next turn.
    expect(call!.call_id).toMatch(/\S/)
  }
  if (turn.upstream?.thinking !== undefined) {
    const reasoning = output.find((item) => item.type === "reasoning")
    expect(JSON.stringify(reasoning?.summary)).toContain(turn.upstream.thinking)
    expect(output[0]!.type).toBe("reasoning")
  }
}

/** What an Anthropic or Gemini upstream must get of a Codex turn. */
const expectConverted = (received: ReceivedRequest, turn: RecordedTurn, target: ReplayTarget) => {
  expect(received.model).toBe(target.upstreamModel)
  expect(received.path).toBe(
    target.protocol === "anthropic" ? "/v1/messages" : `/v1beta/models/${target.upstreamModel}:streamGenerateContent`,
  )
  expectOnlyFeatureHeaders(received, session, [])
  const sent = JSON.stringify(received.body)
  // The instructions become the system prompt; the function tools, declarations with their schemas.
  expect(sent).toContain("You are Codex, based on GPT-5.")
  for (const name of ["shell", "update_plan", "apply_patch"]) expect(sent).toContain(`"name":"${name}"`)
  expect(sent).toContain("How many test files are there?")
  const items = turn.body.input as ReadonlyArray<Item>
  // Reasoning effort becomes a thinking budget — unless the tool turn's reasoning was written by
  // OpenAI (recorded there): Anthropic cannot keep thinking on without its own, so it is left off
  // for that turn (and reported) rather than refused.
  if (target.protocol === "anthropic") {
    if (items.some((item) => item.type === "function_call")) expect(received.body).not.toHaveProperty("thinking")
    else expect(received.body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 8192 } })
  }
  const output = items.find((item) => item.type === "function_call_output")
  if (output !== undefined) {
    const call = items.find((item) => item.type === "function_call")!
    const args = JSON.parse(call.arguments as string) as unknown
    if (target.protocol === "anthropic") {
      const messages = (received.body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> })
        .messages
      expect(
        messages.flatMap((m) => m.content).filter((b) => b.type === "tool_use" || b.type === "tool_result"),
      ).toEqual([
        { type: "tool_use", id: call.call_id, name: "shell", input: args },
        { type: "tool_result", tool_use_id: call.call_id, content: [{ type: "text", text: output.output }] },
      ])
    } else {
      expect(sent).toContain(JSON.stringify({ functionCall: { name: "shell", args } }))
      expect(sent).toContain(
        JSON.stringify({ functionResponse: { name: "shell", response: JSON.parse(output.output as string) } }),
      )
    }
    // OpenAI's encrypted reasoning cannot be read by another provider: left out (and reported).
    expect(sent).not.toContain("gAAAAAB")
  }
}

/**
 * Codex builds each turn from the answers it got (stateless mode: the output items, ids dropped,
 * then the tool's output). Through an Anthropic upstream, the reasoning item's encrypted_content
 * carries Anthropic's signed thinking back (protocol/openai-responses/ReasoningCarrier), so the
 * tool turn keeps thinking on — the real API refuses thinking without it (the mock does too).
 */
describe("Codex CLI session chained on the gateway's own answers, against an Anthropic upstream", () => {
  const target = REPLAY_TARGETS.find((r) => r.protocol === "anthropic")!
  const [first, second] = session.turns as [RecordedTurn, RecordedTurn]
  const stream = (body: Record<string, unknown>) => streamed(t.openai, body, target, session)

  it("sends the thinking and its signature back: thinking stays on across the tool turn", async () => {
    t.mock.script(first.upstream!)
    const answer = await stream(first.body)
    const echoed = (answer.output as unknown as ReadonlyArray<Item>).map(
      ({ id: _id, status: _status, ...item }) => item,
    )
    const reasoning = echoed.find((item) => item.type === "reasoning")!
    expect(reasoning.encrypted_content).toBe(`apiproxy:anthropic:${MOCK_SIGNATURE}`)
    const call = echoed.find((item) => item.type === "function_call")!
    const output = {
      type: "function_call_output",
      call_id: call.call_id,
      output: '{"output":"42\\n","metadata":{"exit_code":0,"duration_seconds":0.0}}',
    }

    t.mock.script(second.upstream!)
    const final = await stream({ ...second.body, input: [...(first.body.input as Array<unknown>), ...echoed, output] })
    expect(final.output_text).toBe(second.expect!.text)
    const sent = t.mock.received[1]!.body as {
      thinking: unknown
      messages: Array<{ role: string; content: Array<unknown> }>
    }
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 8192 })
    expect(sent.messages.findLast((m) => m.role === "assistant")!.content).toEqual([
      { type: "thinking", thinking: first.upstream!.thinking, signature: MOCK_SIGNATURE },
      { type: "tool_use", id: call.call_id, name: "shell", input: first.expect!.function_call!.arguments },
    ])
  })
})

const stateful = loadSession("codex", "stateful")

/**
 * The same session with server-side state: turn two sends only the tool's output and
 * `previous_response_id`. Whatever the upstream, it must get the whole conversation back — the
 * first turn's input, its reasoning and call, then the output — never the bare follow-up.
 */
describe.each(REPLAY_TARGETS)(
  "Codex CLI session continued with previous_response_id, against an $protocol upstream",
  (target) => {
    const [first, second] = stateful.turns as [RecordedTurn, RecordedTurn]
    const stream = (body: Record<string, unknown>) => streamed(t.openai, body, target, stateful)

    it("rebuilds the conversation for the upstream and answers the follow-up", async () => {
      t.mock.script(first.upstream!)
      const answer = await stream(first.body)
      expectValidResponse(answer, first)
      // Codex answers the call it got, by the call_id the gateway gave it.
      const callId = (answer.output as unknown as ReadonlyArray<Item>).find(
        (item) => item.type === "function_call",
      )!.call_id
      const output: Item = { ...(second.body.input as ReadonlyArray<Item>)[0]!, call_id: callId }
      t.mock.script(second.upstream!)
      const final = await stream({ ...second.body, previous_response_id: answer.id, input: [output] })
      expectValidResponse(final, second)

      const received = t.mock.received[1]!
      const sent = JSON.stringify(received.body)
      expect(sent).not.toContain("previous_response_id")
      expect(sent).toContain("How many test files are there?")
      const call = first.expect!.function_call!
      if (target.protocol === "openai") {
        const items = (received.body as { input: ReadonlyArray<Item> }).input.filter((item) => item.type !== "message")
        expect(items.map((item) => item.type)).toEqual(["reasoning", "function_call", "function_call_output"])
        expect(items[1]).toMatchObject({ call_id: output.call_id, name: call.name })
        expect(items[2]).toMatchObject({ call_id: output.call_id, output: output.output })
        expect(received.body).toMatchObject({ store: false })
      } else if (target.protocol === "anthropic") {
        const messages = (
          received.body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> }
        ).messages
        expect(messages.at(-2)!.content).toEqual([
          { type: "thinking", thinking: first.upstream!.thinking, signature: MOCK_SIGNATURE },
          { type: "tool_use", id: output.call_id, name: call.name, input: call.arguments },
        ])
        expect(messages.at(-1)!.content).toEqual([
          { type: "tool_result", tool_use_id: output.call_id, content: [{ type: "text", text: output.output }] },
        ])
        expect(received.body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 8192 } })
      } else {
        expect(sent).toContain(JSON.stringify({ functionCall: { name: call.name, args: call.arguments } }))
        expect(sent).toContain(
          JSON.stringify({ functionResponse: { name: call.name, response: JSON.parse(output.output as string) } }),
        )
      }
    })
  },
)
