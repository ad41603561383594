import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { beforeAll, describe, expect, it } from "vitest"
import { useMockGateway } from "../support/MockGateway.js"
import { protocolProviders } from "../support/ProtocolProviders.js"
import { recordingFetch } from "../support/RecordingFetch.js"

const BETAS = ["interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"]

/**
 * Provider feature headers (http/FeatureHeaders): `anthropic-beta` and `anthropic-version` from
 * Anthropic clients, `openai-beta` from OpenAI clients, forwarded to upstreams of the client's
 * own dialect only; hostile values refused at the edge in the client's dialect.
 */
describe("provider feature headers", () => {
  const t = useMockGateway({ gatewayFile: (mockUrl) => ({ providers: protocolProviders(mockUrl) }) })
  let anthropic: Anthropic
  let openai: OpenAI
  /** What the Anthropic client's SDK really sent. */
  const sent = recordingFetch()

  beforeAll(() => {
    anthropic = new Anthropic({ baseURL: t.gateway.url, apiKey: t.gateway.masterKey, maxRetries: 0, fetch: sent.fetch })
    openai = t.openai.withOptions({
      defaultHeaders: {
        "OpenAI-Beta": "responses=experimental",
        "OpenAI-Organization": "org-client",
        "chatgpt-account-id": "acct-1",
      },
    })
  })

  it("forwards anthropic-beta and anthropic-version to an Anthropic upstream, with ?beta=true accepted (JSON and streamed)", async () => {
    const params = {
      model: "claude-haiku-4-5",
      max_tokens: 64,
      betas: BETAS,
      messages: [{ role: "user" as const, content: "beta" }],
    }
    const message = await anthropic.beta.messages.create(params, { query: { beta: "true" } })
    expect(message.content[0]).toMatchObject({ type: "text", text: "Hello from mock: beta" })
    const final = await anthropic.beta.messages.stream(params, { query: { beta: "true" } }).finalMessage()
    expect(final.content[0]).toMatchObject({ type: "text", text: "Hello from mock: beta" })

    expect(t.mock.received).toHaveLength(2)
    for (const received of t.mock.received) {
      expect(received.path).toBe("/v1/messages")
      expect(received.headers["anthropic-beta"]).toBe(BETAS.join(","))
      // Whatever version the SDK speaks reaches the upstream (this SDK's is not the gateway's default).
      expect(received.headers["anthropic-version"]).toBe(sent.last().headers.get("anthropic-version"))
      // The provider's key, never the client's; no SDK telemetry of the client.
      expect(received.headers["x-api-key"]).toBe("sk-ant-claude")
      expect(Object.keys(received.headers).filter((name) => name.startsWith("x-stainless"))).toEqual([])
    }
  })

  it("sends the client's anthropic-version instead of the gateway's default", async () => {
    const response = await fetch(`${t.gateway.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: {
        "x-api-key": t.gateway.masterKey,
        "anthropic-version": "2023-01-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 16, messages: [{ role: "user", content: "v" }] }),
    })
    expect(response.status).toBe(200)
    expect(t.mock.received[0]!.headers["anthropic-version"]).toBe("2023-01-01")
    expect(t.mock.received[0]!.headers["anthropic-beta"]).toBeUndefined()
  })

  it.each(["gpt-4o-mini", "gemini-2.5-flash"])(
    "does not send Anthropic headers to a converted upstream (%s)",
    async (model) => {
      const message = await anthropic.beta.messages.create({
        model,
        max_tokens: 64,
        betas: BETAS,
        messages: [{ role: "user", content: "conv" }],
      })
      expect(message.content[0]).toMatchObject({ type: "text", text: "Hello from mock: conv" })
      const headers = t.mock.received[0]!.headers
      expect(headers["anthropic-beta"]).toBeUndefined()
      expect(headers["anthropic-version"]).toBeUndefined()
    },
  )

  it("forwards openai-beta to an OpenAI upstream and nothing that selects an account", async () => {
    const response = await openai.responses.create({ model: "gpt-4o-mini", input: "codex" })
    expect(response.output_text).toBe("Hello from mock: codex")
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "chat" }] })
    for (const received of t.mock.received) {
      expect(received.headers["openai-beta"]).toBe("responses=experimental")
      expect(received.headers["openai-organization"]).toBeUndefined()
      expect(received.headers["chatgpt-account-id"]).toBeUndefined()
      expect(received.headers.authorization).toBe("Bearer sk-oai")
    }
  })

  it("does not send openai-beta to an Anthropic upstream", async () => {
    await openai.chat.completions.create({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "x" }] })
    expect(t.mock.received[0]!.path).toBe("/v1/messages")
    expect(t.mock.received[0]!.headers["openai-beta"]).toBeUndefined()
  })

  it("refuses a hostile anthropic-beta value with a 400 in Anthropic's shape, before any upstream call", async () => {
    const error = await anthropic.messages
      .create(
        { model: "claude-haiku-4-5", max_tokens: 16, messages: [{ role: "user", content: "x" }] },
        { headers: { "anthropic-beta": 'beta";x-api-key=stolen' } },
      )
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect(error.error).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
    expect(error.error.error.message).toContain("anthropic-beta")
    expect(t.mock.received).toHaveLength(0)
  })

  it("refuses an over-long openai-beta value with a 400 in OpenAI's shape", async () => {
    const error = await openai.chat.completions
      .create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
        { headers: { "OpenAI-Beta": "b".repeat(2_000) } },
      )
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.error).toMatchObject({ param: "openai-beta", code: "invalid_header" })
    expect(t.mock.received).toHaveLength(0)
  })
})
