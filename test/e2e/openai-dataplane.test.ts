import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { contextLengthExceeded, type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/** Two OpenAI-protocol mocks behind one gateway: `primary` (tier 0) and `backup` (tier 1). */
describe("OpenAI data plane through the official SDK", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  beforeAll(async () => {
    primary = await startMockProvider({ models: ["gpt-4o-mini", "only-primary"] })
    backup = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({
      // Every test here scripts its own faults: keep circuits from carrying them into the next test.
      // Mid-stream rescue is off: these tests hold the commit contract where no continuation is
      // possible (a broken stream ends with the in-band error); rescue has its own tests.
      env: {
        UPSTREAM_FIRST_TOKEN_TIMEOUT: "1 second",
        UPSTREAM_IDLE_TIMEOUT: "1 second",
        CIRCUIT_FAILURE_THRESHOLD: "1000",
        MIDSTREAM_RESCUES: "0",
      },
      gatewayFile: {
        providers: [
          {
            id: "primary",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-primary-secret", label: "main" }],
            models: ["gpt-4o-mini", "only-primary"],
          },
          {
            id: "backup",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-backup-secret", label: "main" }],
            models: ["gpt-4o-mini"],
          },
          // Its own provider (and key), so a rate limit here cannot back off the keys other tests use.
          {
            id: "solo",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-solo-secret", label: "main" }],
            models: ["solo-model"],
          },
        ],
        logical_models: [
          {
            id: "fast",
            upstreams: [
              { provider: "primary", model: "gpt-4o-mini", priority: 0 },
              { provider: "backup", model: "gpt-4o-mini", priority: 1 },
            ],
          },
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

  it("answers a chat completion and forwards the body with only the model replaced", async () => {
    const completion = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "hi" }],
      temperature: 0.2,
      // An option the gateway does not model must still reach the provider.
      ...({ custom_vendor_flag: { nested: [1, 2] } } as object),
    })
    expect(completion.choices[0]!.message.content).toBe("Hello from mock: hi")
    expect(completion.choices[0]!.finish_reason).toBe("stop")
    const received = primary.received[0]!
    expect(received.body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      temperature: 0.2,
      custom_vendor_flag: { nested: [1, 2] },
    })
    expect(received.headers["authorization"]).toBe("Bearer sk-primary-secret")
    expect(JSON.stringify(received.headers)).not.toContain(gateway.masterKey)
    expect(received.headers["user-agent"]).toContain("Mozilla/5.0")
  })

  it("reports which upstream served the answer", async () => {
    const { response } = await client.chat.completions
      .create({ model: "fast", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(response.headers.get("x-apiproxy-provider")).toBe("primary")
    expect(response.headers.get("x-apiproxy-model")).toBe("gpt-4o-mini")
    expect(response.headers.get("x-apiproxy-attempts")).toBe("1")
    expect(response.headers.get("x-request-id")).toBeTruthy()
  })

  it("routes provider/model to that provider and discovers bare names", async () => {
    await client.chat.completions.create({ model: "backup/gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
    expect(backup.received).toHaveLength(1)
    expect(primary.received).toHaveLength(0)
    await client.chat.completions.create({ model: "only-primary", messages: [{ role: "user", content: "x" }] })
    expect(primary.received[0]!.body).toMatchObject({ model: "only-primary" })
  })

  it("streams deltas as they arrive and the stream() helper accepts them", async () => {
    const stream = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "stream me" }],
      stream: true,
    })
    let text = ""
    let sawUsage = false
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ""
      if (chunk.usage) sawUsage = true
    }
    expect(text).toBe("Hello from mock: stream me")
    // The gateway asks upstream for usage, but the client did not: the usage chunk is withheld.
    expect(sawUsage).toBe(false)
    expect(primary.received[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })

    const helper = client.chat.completions.stream({ model: "fast", messages: [{ role: "user", content: "helper" }] })
    const final = await helper.finalChatCompletion()
    expect(final.choices[0]!.message.content).toBe("Hello from mock: helper")
    expect(final.choices[0]!.finish_reason).toBe("stop")
  })

  it("relays the usage chunk when the client asks for it", async () => {
    const stream = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "count" }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage
    expect(usage?.total_tokens).toBeGreaterThan(0)
  })

  it("streams when only Accept: text/event-stream asks for it", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gateway.masterKey}`,
        "content-type": "application/json",
        accept: "text/event-stream",
      },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "sse" }] }),
    })
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    const text = await response.text()
    expect(text).toContain("data: [DONE]")
    expect(primary.received[0]!.body).toMatchObject({ stream: true })
  })

  it("passes tool definitions through and returns tool calls, streaming and not", async () => {
    const tools: Array<OpenAI.ChatCompletionTool> = [
      {
        type: "function",
        function: { name: "get_weather", parameters: { type: "object", properties: { location: { type: "string" } } } },
      },
    ]
    const completion = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "what is the weather?" }],
      tools,
    })
    const call = completion.choices[0]!.message.tool_calls![0]!
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls")
    expect(call.type === "function" && call.function.name).toBe("get_weather")
    expect((primary.received[0]!.body as { tools: unknown }).tools).toEqual(tools)

    const final = await client.chat.completions
      .stream({ model: "fast", messages: [{ role: "user", content: "weather please" }], tools })
      .finalChatCompletion()
    const streamed = final.choices[0]!.message.tool_calls![0]!
    expect(streamed.type === "function" && JSON.parse(streamed.function.arguments)).toEqual({ location: "Paris" })
  })

  it("passes the Responses API through, JSON and streamed", async () => {
    const response = await client.responses.create({ model: "fast", input: "hello responses" })
    expect(response.output_text).toContain("hello responses")
    expect(primary.received[0]!.path).toBe("/v1/responses")

    const stream = client.responses.stream({ model: "fast", input: "stream responses" })
    const deltas: Array<string> = []
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta))
    const final = await stream.finalResponse()
    expect(final.status).toBe("completed")
    expect(deltas.join("")).toBe(final.output_text)
  })

  it("lists the union of models, deduplicated, plus logical models", async () => {
    const ids: Array<string> = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids.sort()).toEqual(["fast", "gpt-4o-mini", "only-primary", "solo-model"])
    const page = await client.models.list()
    const entry = page.data.find((m) => m.id === "only-primary")!
    expect(entry).toMatchObject({ object: "model", owned_by: "primary" })
    expect(typeof entry.created).toBe("number")
  })

  it("answers an unknown model with 404 model_not_found", async () => {
    const error = await client.chat.completions
      .create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.code).toBe("model_not_found")
    expect(error.requestID).toBeTruthy()
  })

  it("keeps the provider's status and message for client errors, without failing over", async () => {
    primary.script(contextLengthExceeded("gpt-4o-mini"))
    const error = await client.chat.completions
      .create({ model: "fast", messages: [{ role: "user", content: "long" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.status).toBe(400)
    expect(error.code).toBe("context_length_exceeded")
    expect(error.message).toContain("maximum context length")
    expect(backup.received).toHaveLength(0)
  })

  it("keeps 429 and Retry-After when no other provider can serve and the wait is too long", async () => {
    primary.script({ status: 429, headers: { "retry-after": "30" } })
    const error = await client.chat.completions
      .create({ model: "solo-model", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.headers.get("retry-after")).toBe("30")
    expect(primary.received).toHaveLength(1)
  })

  it("retries a transient 503 on the same upstream", async () => {
    primary.script({ status: 503 })
    const { data, response } = await client.chat.completions
      .create({ model: "fast", messages: [{ role: "user", content: "once" }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe("Hello from mock: once")
    expect(response.headers.get("x-apiproxy-provider")).toBe("primary")
    expect(response.headers.get("x-apiproxy-attempts")).toBe("2")
    expect(backup.received).toHaveLength(0)
  })

  it("fails over to the next tier when 503 persists, streaming and not", async () => {
    primary.setDefault({ status: 503 })
    try {
      const { data, response } = await client.chat.completions
        .create({ model: "fast", messages: [{ role: "user", content: "failover" }] })
        .withResponse()
      expect(data.choices[0]!.message.content).toBe("Hello from mock: failover")
      expect(response.headers.get("x-apiproxy-provider")).toBe("backup")
      // One call and two retries on the primary, then the backup.
      expect(response.headers.get("x-apiproxy-attempts")).toBe("4")
      expect(primary.received).toHaveLength(3)
    } finally {
      primary.setDefault(undefined)
    }
    primary.reset()
    backup.reset()

    primary.setDefault({ reset: true })
    try {
      const stream = await client.chat.completions.create({
        model: "fast",
        messages: [{ role: "user", content: "again" }],
        stream: true,
      })
      let text = ""
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
      expect(text).toBe("Hello from mock: again")
      expect(backup.received).toHaveLength(1)
    } finally {
      primary.setDefault(undefined)
    }
  })

  it("fails over when the first token never comes", async () => {
    primary.script({ firstTokenDelayMs: 5_000 })
    const stream = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "slow" }],
      stream: true,
    })
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
    expect(text).toBe("Hello from mock: slow")
    expect(backup.received).toHaveLength(1)
  })

  it("ends a stream cut after commit with an in-band error, never a clean finish", async () => {
    primary.script({ cutAfterChunks: 3 })
    const stream = await client.chat.completions.create({
      model: "fast",
      messages: [{ role: "user", content: "cut me off" }],
      stream: true,
    })
    let text = ""
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
    })().catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(text.length).toBeGreaterThan(0)
    expect(backup.received).toHaveLength(0)
  })

  it("ends a stalled stream with an in-band error within the idle timeout", async () => {
    primary.script({ stallAfterChunks: 2 })
    const started = Date.now()
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "only-primary", stream: true, messages: [{ role: "user", content: "stall" }] }),
    })
    const text = await response.text()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(text).toContain('data: {"error"')
    expect(text).not.toContain("[DONE]")
  })

  it("treats a stream that ends without [DONE] and without a finish as truncated", async () => {
    primary.script({ cutAfterChunks: 2 })
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "only-primary",
        stream: true,
        messages: [{ role: "user", content: "a b c d e f" }],
      }),
    })
    const text = await response.text()
    expect(text).toContain('data: {"error"')
    expect(text).not.toContain("[DONE]")
  })

  it("a client that leaves before the answer aborts the upstream call, and its access line says 499", async () => {
    primary.script({ hang: true })
    const controller = new AbortController()
    const pending = fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gateway.masterKey}`,
        "content-type": "application/json",
        "x-request-id": "leaves-early",
      },
      body: JSON.stringify({ model: "only-primary", messages: [{ role: "user", content: "leave" }] }),
      signal: controller.signal,
    }).catch((error: unknown) => error)
    await primary.waitFor((m) => m.received.length > 0, 3_000)
    controller.abort()
    await pending
    await primary.waitFor((m) => m.received[0]?.aborted === true, 3_000)
    const line = () => gateway.logs.find((l) => l.includes("request_id=leaves-early"))
    for (let i = 0; i < 50 && line() === undefined; i++) await new Promise((r) => setTimeout(r, 20))
    expect(line()).toContain("status=499")
  })

  it("cancels the upstream request when the client disconnects", async () => {
    primary.script({ stallAfterChunks: 2 })
    const controller = new AbortController()
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "only-primary", stream: true, messages: [{ role: "user", content: "abort" }] }),
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    await primary.waitFor((m) => m.received[0]?.aborted === true, 3_000)
    expect(primary.received[0]!.aborted).toBe(true)
    // And the gateway keeps serving.
    const ok = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "after" }] })
    expect(ok.choices[0]!.message.content).toBe("Hello from mock: after")
  })
})
