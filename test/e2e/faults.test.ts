import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { contextLengthExceeded, type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Fault scenarios end to end: the real gateway in front of two mock providers. Every scenario
 * has its own providers (`<id>-main` on `primary`, `<id>-fb` on `backup`) and upstream model
 * names, so circuits, key backoffs and metrics of one scenario never leak into another, and the
 * mocks' `received` lists can be read per scenario. Each test asserts what the client got, what
 * the mocks received, and that the gateway still serves a healthy request afterwards.
 */

const PAIRS = [
  "ra",
  "ralong",
  "e500",
  "e503",
  "reset",
  "hang",
  "slowft",
  "cut",
  "stall",
  "malformed",
  "nodone",
  "ctx",
  "policy",
  "recover",
  "acct",
]
const SOLOS = ["rl", "e503solo", "hangsolo", "nodonecut"]
/** One provider serving several models (the most common setup): state must stay per model. */
const SHARED = ["sh-big", "sh-small", "sh-solo", "sh-other", "sh-long", "sh-wide"]

const TIMEOUTS = {
  UPSTREAM_HEADERS_TIMEOUT: "1 second",
  UPSTREAM_FIRST_TOKEN_TIMEOUT: "700 millis",
  UPSTREAM_IDLE_TIMEOUT: "700 millis",
  UPSTREAM_REQUEST_DEADLINE: "10 seconds",
  CIRCUIT_FAILURE_THRESHOLD: "3",
  CIRCUIT_COOLDOWN: "1 second",
  CIRCUIT_MAX_COOLDOWN: "2 seconds",
}

const mainModel = (id: string) => `${id}-main-model`
const fbModel = (id: string) => `${id}-fb-model`

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly ms: number
}

/** `data:` payloads of an SSE body, in order. */
const dataFrames = (text: string): Array<string> =>
  text
    .split("\n\n")
    .map((frame) =>
      frame
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n"),
    )
    .filter((d) => d !== "")

/** The answer text carried by chat chunks (the `[DONE]` and error frames carry none). */
const contentOf = (frames: ReadonlyArray<string>): string =>
  frames
    .filter((d) => d !== "[DONE]")
    .map((d) => JSON.parse(d) as { choices?: Array<{ delta?: { content?: string } }> })
    .map((c) => c.choices?.[0]?.delta?.content ?? "")
    .join("")

const streamedText = (text: string): string => contentOf(dataFrames(text))

describe("fault scenarios against the mock provider", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  const chat = async (
    model: string,
    content: string,
    options: { stream?: boolean; extra?: object } = {},
  ): Promise<Answer> => {
    const started = Date.now()
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content }],
        ...(options.stream ? { stream: true } : {}),
        ...options.extra,
      }),
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, ms: Date.now() - started }
  }

  const receivedFor = (mock: MockProvider, model: string) => mock.received.filter((r) => r.model === model)

  /** The gateway as a whole still serves: JSON and a complete stream, from an untouched provider. */
  const expectHealthy = async () => {
    const json = await chat("healthy", "still there?")
    expect(json.status).toBe(200)
    expect(JSON.parse(json.text).choices[0].message.content).toBe("Hello from mock: still there?")
    const stream = await chat("healthy", "still streaming?", { stream: true })
    expect(stream.status).toBe(200)
    expect(streamedText(stream.text)).toBe("Hello from mock: still streaming?")
    expect(dataFrames(stream.text).at(-1)).toBe("[DONE]")
  }

  beforeAll(async () => {
    primary = await startMockProvider({ models: [...PAIRS.map(mainModel), ...SOLOS.map(mainModel), ...SHARED] })
    backup = await startMockProvider({ models: [...PAIRS.map(fbModel), "healthy-model"] })
    const key = (id: string) => [{ value: `sk-${id}-secret` }]
    gateway = await startTestGateway({
      env: TIMEOUTS,
      gatewayFile: {
        providers: [
          ...PAIRS.flatMap((id) => [
            {
              id: `${id}-main`,
              protocol: "openai",
              base_url: primary.url,
              keys: key(`${id}-main`),
              models: [mainModel(id)],
            },
            { id: `${id}-fb`, protocol: "openai", base_url: backup.url, keys: key(`${id}-fb`), models: [fbModel(id)] },
          ]),
          ...SOLOS.map((id) => ({
            id: `${id}-main`,
            protocol: "openai",
            base_url: primary.url,
            keys: key(`${id}-main`),
            models: [mainModel(id)],
          })),
          { id: "healthy", protocol: "openai", base_url: backup.url, keys: key("healthy"), models: ["healthy-model"] },
          { id: "shared", protocol: "openai", base_url: primary.url, keys: key("shared"), models: SHARED },
          { id: "shared2", protocol: "openai", base_url: primary.url, keys: key("shared2"), models: ["sh-long"] },
        ],
        logical_models: [
          ...PAIRS.map((id) => ({
            id,
            upstreams: [
              { provider: `${id}-main`, model: mainModel(id), priority: 0 },
              { provider: `${id}-fb`, model: fbModel(id), priority: 1 },
            ],
          })),
          ...SOLOS.map((id) => ({ id, upstreams: [{ provider: `${id}-main`, model: mainModel(id) }] })),
          { id: "healthy", upstreams: [{ provider: "healthy", model: "healthy-model" }] },
          {
            id: "sh",
            upstreams: [
              { provider: "shared", model: "sh-big", priority: 0 },
              { provider: "shared", model: "sh-small", priority: 1 },
            ],
          },
          {
            id: "shctx",
            upstreams: [
              { provider: "shared", model: "sh-long", priority: 0 },
              { provider: "shared2", model: "sh-long", priority: 1 },
              { provider: "shared", model: "sh-wide", priority: 2 },
            ],
          },
          { id: "shsolo", upstreams: [{ provider: "shared", model: "sh-solo" }] },
          { id: "shother", upstreams: [{ provider: "shared", model: "sh-other" }] },
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

  it("429 with Retry-After: waits as told, retries the same upstream, answers 200", async () => {
    primary.script({ status: 429, headers: { "retry-after": "1" } })
    const answer = await chat("ra", "patience")
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.text).choices[0].message.content).toBe("Hello from mock: patience")
    expect(answer.headers.get("x-apiproxy-provider")).toBe("ra-main")
    expect(answer.headers.get("x-apiproxy-attempts")).toBe("2")
    const calls = receivedFor(primary, mainModel("ra"))
    expect(calls).toHaveLength(2)
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950)
    expect(backup.received).toHaveLength(0)
    // The key is usable again at once (its backoff was the provider's Retry-After, now over).
    const again = await chat("ra", "again")
    expect(again.headers.get("x-apiproxy-provider")).toBe("ra-main")
    await expectHealthy()
  })

  it("429 with a Retry-After longer than the budget: fails over at once", async () => {
    primary.script({ status: 429, headers: { "retry-after": "60" } })
    const answer = await chat("ralong", "hurry")
    expect(answer.status).toBe(200)
    expect(answer.headers.get("x-apiproxy-provider")).toBe("ralong-fb")
    expect(answer.ms).toBeLessThan(2_000)
    expect(receivedFor(primary, mainModel("ralong"))).toHaveLength(1)
    expect(receivedFor(backup, fbModel("ralong"))).toHaveLength(1)
    await expectHealthy()
  })

  it("429 forever: a bounded number of tries, then 429 with Retry-After for the client", async () => {
    primary.setDefault({
      status: 429,
      headers: { "retry-after": "1" },
      errorMessage: "Rate limit reached for requests",
    })
    const error = await client.chat.completions
      .create({ model: "rl", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.message).toContain("Rate limit reached")
    expect(Number(error.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    // One call and at most two retries, each after the Retry-After.
    const calls = receivedFor(primary, mainModel("rl"))
    expect(calls.length).toBeGreaterThanOrEqual(1)
    expect(calls.length).toBeLessThanOrEqual(3)
    // Nothing more arrives later (no background retry).
    await new Promise((r) => setTimeout(r, 300))
    expect(receivedFor(primary, mainModel("rl")).length).toBe(calls.length)
    await expectHealthy()
  })

  it("500 once, then healthy: retried on the same upstream after a short backoff", async () => {
    primary.script({ status: 500 })
    const { data, response } = await client.chat.completions
      .create({ model: "e500", messages: [{ role: "user", content: "flaky" }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe("Hello from mock: flaky")
    expect(response.headers.get("x-apiproxy-provider")).toBe("e500-main")
    expect(response.headers.get("x-apiproxy-attempts")).toBe("2")
    expect(receivedFor(primary, mainModel("e500"))).toHaveLength(2)
    expect(backup.received).toHaveLength(0)
    await expectHealthy()
  })

  it("503 forever: fails over; three failed requests open the circuit, which keeps the dead upstream out", async () => {
    primary.setDefault({ status: 503 })
    for (let i = 1; i <= 3; i++) {
      const answer = await chat("e503", `one ${i}`)
      expect(answer.status).toBe(200)
      expect(answer.headers.get("x-apiproxy-provider")).toBe("e503-fb")
      expect(answer.headers.get("x-apiproxy-model")).toBe(fbModel("e503"))
      // Each request's own retries are one failure for the breaker; the third request's first
      // failure opened the circuit, so it was not retried.
      expect(receivedFor(primary, mainModel("e503"))).toHaveLength([3, 6, 7][i - 1]!)
    }
    // Three failed requests opened the circuit: the next request goes straight to the fallback.
    const second = await chat("e503", "two", { stream: true })
    expect(second.status).toBe(200)
    expect(streamedText(second.text)).toBe("Hello from mock: two")
    expect(second.headers.get("x-apiproxy-attempts")).toBe("1")
    expect(receivedFor(primary, mainModel("e503"))).toHaveLength(7)
    await expectHealthy()
  })

  it("503 forever with no fallback: the provider's 503 after a bounded number of tries; the single upstream keeps serving once the burst ends", async () => {
    primary.setDefault({ status: 503, errorMessage: "The engine is currently overloaded" })
    const answer = await chat("e503solo", "x")
    expect(answer.status).toBe(503)
    expect(JSON.parse(answer.text).error.message).toContain("overloaded")
    expect(receivedFor(primary, mainModel("e503solo"))).toHaveLength(3)
    expect(answer.ms).toBeLessThan(5_000)
    // Two more failed requests: the circuit is open now. The gateway still sends the request (panic
    // mode: its only upstream is its probe) instead of refusing it by itself; the client gets the
    // provider's own answer.
    await chat("e503solo", "x2")
    await chat("e503solo", "x3")
    const calls = receivedFor(primary, mainModel("e503solo")).length
    const during = await chat("e503solo", "y")
    expect(during.status).toBe(503)
    expect(JSON.parse(during.text).error.message).toContain("overloaded")
    expect(receivedFor(primary, mainModel("e503solo")).length).toBeGreaterThan(calls)
    // The burst ends: the very next request is served, although the cooldown is not over.
    primary.setDefault(undefined)
    const after = await chat("e503solo", "back")
    expect(after.status).toBe(200)
    expect(JSON.parse(after.text).choices[0].message.content).toBe("Hello from mock: back")
    expect((await chat("e503solo", "and again", { stream: true })).status).toBe(200)
    await expectHealthy()
  })

  it("connection reset before headers: retried, then failed over, streaming and not", async () => {
    primary.script({ reset: true })
    const once = await chat("reset", "again please")
    expect(once.status).toBe(200)
    expect(once.headers.get("x-apiproxy-provider")).toBe("reset-main")
    expect(once.headers.get("x-apiproxy-attempts")).toBe("2")

    primary.setDefault({ reset: true })
    const stream = await chat("reset", "over there", { stream: true })
    expect(stream.status).toBe(200)
    expect(stream.headers.get("x-apiproxy-provider")).toBe("reset-fb")
    expect(streamedText(stream.text)).toBe("Hello from mock: over there")
    expect(dataFrames(stream.text).at(-1)).toBe("[DONE]")
    expect(stream.text).not.toContain('"error"')
    await expectHealthy()
  })

  it("an upstream that never answers: abandoned at the headers timeout, streaming and not", async () => {
    primary.setDefault({ hang: true })
    const json = await chat("hang", "anyone?")
    expect(json.status).toBe(200)
    expect(json.headers.get("x-apiproxy-provider")).toBe("hang-fb")
    // Abandoned, not retried: one call, and the gateway hung up on it.
    expect(json.ms).toBeLessThan(3_000)
    const stream = await chat("hang", "anyone streaming?", { stream: true })
    expect(streamedText(stream.text)).toBe("Hello from mock: anyone streaming?")
    await primary.waitFor((m) => receivedFor(m, mainModel("hang")).every((r) => r.aborted), 2_000)

    const solo = await chat("hangsolo", "alone")
    expect(solo.status).toBe(504)
    expect(JSON.parse(solo.text).error.code).toBe("upstream_timeout")
    expect(solo.ms).toBeLessThan(3_000)
    expect(receivedFor(primary, mainModel("hangsolo"))).toHaveLength(1)
    await expectHealthy()
  })

  it("slow first token: the stream fails over before anything reached the client", async () => {
    primary.script({ firstTokenDelayMs: 5_000 })
    const answer = await chat("slowft", "quick", { stream: true })
    expect(answer.status).toBe(200)
    expect(answer.ms).toBeLessThan(3_000)
    expect(answer.headers.get("x-apiproxy-provider")).toBe("slowft-fb")
    expect(answer.headers.get("x-apiproxy-attempts")).toBe("2")
    expect(streamedText(answer.text)).toBe("Hello from mock: quick")
    // Exactly one answer reached the client: one role chunk, one finish, one [DONE].
    expect(dataFrames(answer.text).filter((d) => d === "[DONE]")).toHaveLength(1)
    expect(dataFrames(answer.text).filter((d) => d.includes('"role":"assistant"'))).toHaveLength(1)
    await primary.waitFor((m) => receivedFor(m, mainModel("slowft"))[0]?.aborted === true, 2_000)

    // A first token that is slow but within the timeout is waited for.
    primary.script({ firstTokenDelayMs: 200 })
    const patient = await chat("slowft", "patient", { stream: true })
    expect(patient.headers.get("x-apiproxy-provider")).toBe("slowft-main")
    expect(streamedText(patient.text)).toBe("Hello from mock: patient")
    await expectHealthy()
  })

  it("stream cut mid-answer: continued by the fallback (mid-stream rescue), one complete answer", async () => {
    primary.script({ cutAfterChunks: 3 })
    const stream = await client.chat.completions.create({
      model: "cut",
      messages: [{ role: "user", content: "a b c d e f" }],
      stream: true,
    })
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
    expect(text).toBe("Hello from mock: a b c d e f")
    // The fallback was asked the same request again; only what followed the delivered text was sent on.
    expect(receivedFor(backup, fbModel("cut"))).toHaveLength(1)

    // Cut before the first meaningful event: nothing was sent yet, so it is retried.
    primary.script({ cutAfterChunks: 1 })
    const early = await chat("cut", "early", { stream: true })
    expect(streamedText(early.text)).toBe("Hello from mock: early")
    expect(early.text).not.toContain('"error"')
    expect(early.headers.get("x-apiproxy-attempts")).toBe("2")
    await expectHealthy()
  })

  it("stream stall: detected within the idle timeout, the upstream call aborted, the answer continued by the fallback", async () => {
    primary.script({ stallAfterChunks: 3 })
    const answer = await chat("stall", "a b c d e f", { stream: true })
    expect(answer.status).toBe(200)
    expect(answer.ms).toBeLessThan(3_000)
    const frames = dataFrames(answer.text)
    expect(frames.at(-1)).toBe("[DONE]")
    expect(contentOf(frames)).toBe("Hello from mock: a b c d e f")
    await primary.waitFor((m) => receivedFor(m, mainModel("stall"))[0]?.aborted === true, 2_000)
    expect(receivedFor(backup, fbModel("stall"))).toHaveLength(1)
    await expectHealthy()
  })

  it("malformed chunk: one unreadable frame is skipped and the stream completes; before commit a retry", async () => {
    primary.script({ malformedAfterChunks: 3, malformedThen: "continue" })
    const answer = await chat("malformed", "a b c d e f", { stream: true })
    expect(answer.status).toBe(200)
    const frames = dataFrames(answer.text)
    expect(frames.at(-1)).toBe("[DONE]")
    expect(contentOf(frames)).toBe("Hello from mock: a b c d e f")
    // The broken frame itself is not passed on to the client, and nobody else was asked.
    expect(answer.text).not.toContain("{not json")
    expect(receivedFor(backup, fbModel("malformed"))).toHaveLength(0)

    primary.script({ malformedAfterChunks: 0, malformedThen: "end" })
    const early = await chat("malformed", "early", { stream: true })
    expect(streamedText(early.text)).toBe("Hello from mock: early")
    expect(dataFrames(early.text).at(-1)).toBe("[DONE]")
    expect(early.text).not.toContain("{not json")
    await expectHealthy()
  })

  it("missing [DONE]: complete with a finish reason is a success; without one it is truncated", async () => {
    primary.script({ omitDone: true })
    const answer = await chat("nodone", "finish me", { stream: true })
    expect(answer.status).toBe(200)
    expect(streamedText(answer.text)).toBe("Hello from mock: finish me")
    const frames = dataFrames(answer.text)
    expect(frames.some((d) => d.includes('"finish_reason":"stop"'))).toBe(true)
    expect(frames.some((d) => d.startsWith('{"error"'))).toBe(false)
    // The client still gets the terminator its SDK waits for.
    expect(frames.at(-1)).toBe("[DONE]")

    // Cut without a finish reason: truncated, so the only upstream is asked again and the answer continued.
    primary.script({ cutAfterChunks: 3 })
    const cut = await chat("nodonecut", "a b c d e f", { stream: true })
    const cutFrames = dataFrames(cut.text)
    expect(cutFrames.at(-1)).toBe("[DONE]")
    expect(contentOf(cutFrames)).toBe("Hello from mock: a b c d e f")
    expect(receivedFor(primary, mainModel("nodonecut"))).toHaveLength(2)
    await expectHealthy()
  })

  it("context_length_exceeded: fails over to the next candidate at once, never the same model again, no penalty", async () => {
    primary.setDefault(contextLengthExceeded(mainModel("ctx")))
    for (let i = 0; i < 4; i++) {
      const answer = await chat("ctx", `long ${i}`, { stream: i % 2 === 1 })
      expect(answer.status).toBe(200)
      expect(answer.headers.get("x-apiproxy-provider")).toBe("ctx-fb")
      expect(answer.headers.get("x-apiproxy-attempts")).toBe("2")
    }
    // One call each: never retried on the model that said it is too long.
    expect(receivedFor(primary, mainModel("ctx"))).toHaveLength(4)
    expect(receivedFor(backup, fbModel("ctx"))).toHaveLength(4)
    // Four of them in a row did not open the circuit: the primary still serves.
    primary.setDefault(undefined)
    const ok = await chat("ctx", "short")
    expect(ok.headers.get("x-apiproxy-provider")).toBe("ctx-main")

    // Same provider, and the same model on another provider: skipped for the next model.
    primary.setDefault((r) => (r.model === "sh-long" ? contextLengthExceeded("sh-long") : undefined))
    const same = await chat("shctx", "long")
    expect(same.status).toBe(200)
    expect(same.headers.get("x-apiproxy-model")).toBe("sh-wide")
    expect(receivedFor(primary, "sh-long")).toHaveLength(1)
    // With nowhere else to go, the provider's 400 reaches the client in its dialect.
    primary.setDefault(contextLengthExceeded(mainModel("nodonecut")))
    const error = await client.chat.completions
      .create({ model: "nodonecut", messages: [{ role: "user", content: "long" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.code).toBe("context_length_exceeded")
    expect(error.param).toBe("messages")
    expect(receivedFor(primary, mainModel("nodonecut"))).toHaveLength(1)
    await expectHealthy()
  })

  it("one provider, several models: a 503 burst on one model does not close the fallback model or the other models", async () => {
    primary.setDefault((r) => (r.model === "sh-big" ? { status: 503 } : undefined))
    for (let i = 0; i < 4; i++) {
      const answer = await chat("sh", `burst ${i}`, { stream: i % 2 === 0 })
      expect(answer.status).toBe(200)
      expect(answer.headers.get("x-apiproxy-model")).toBe("sh-small")
    }
    // Three failed requests opened sh-big's circuit (the fourth went straight to the fallback)…
    expect(receivedFor(primary, "sh-big")).toHaveLength(7)
    // …and nothing else of the provider: its other models answer at once, first try.
    for (const model of ["shother", "shared/sh-small"]) {
      const answer = await chat(model, "unaffected")
      expect(answer.status).toBe(200)
      expect(answer.headers.get("x-apiproxy-attempts")).toBe("1")
    }
    await expectHealthy()
  })

  it("one provider, several models: a 429 for one model does not hold back another model on the same key", async () => {
    primary.setDefault((r) =>
      r.model === "sh-solo"
        ? { status: 429, headers: { "retry-after": "30" }, errorMessage: "Rate limit reached for sh-solo" }
        : undefined,
    )
    const limited = await chat("shsolo", "please")
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(29)
    expect(receivedFor(primary, "sh-solo")).toHaveLength(1)
    // The same key serves another model at once.
    const other = await chat("shother", "me neither")
    expect(other.status).toBe(200)
    expect(other.headers.get("x-apiproxy-attempts")).toBe("1")
    expect(receivedFor(primary, "sh-other")).toHaveLength(1)
    // The rate-limited model: the provider's Retry-After holds (a 429 with what is left of it,
    // not a 503), and the provider is not asked again before it.
    const again = await chat("shsolo", "please?")
    expect(again.status).toBe(429)
    expect(JSON.parse(again.text).error.code).toBe("rate_limit_exceeded")
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(28)
    expect(receivedFor(primary, "sh-solo")).toHaveLength(1)
    await expectHealthy()
  })

  it("content-policy rejection: relayed as 400, no retry, no failover, no penalty", async () => {
    const rejection = {
      status: 400,
      body: {
        error: {
          message: "Your request was rejected as a result of our safety system.",
          type: "invalid_request_error",
          param: null,
          code: "content_policy_violation",
        },
      },
    }
    primary.setDefault(rejection)
    for (let i = 0; i < 4; i++) {
      const answer = await chat("policy", "something bad", { stream: i % 2 === 1 })
      expect(answer.status).toBe(400)
      expect(answer.headers.get("content-type")).toContain("application/json")
      const body = JSON.parse(answer.text)
      expect(body.error.code).toBe("content_policy_violation")
      expect(body.error.message).toContain("safety system")
    }
    expect(receivedFor(primary, mainModel("policy"))).toHaveLength(4)
    expect(backup.received).toHaveLength(0)
    primary.setDefault(undefined)
    const ok = await chat("policy", "something nice")
    expect(ok.headers.get("x-apiproxy-provider")).toBe("policy-main")
    await expectHealthy()
  })

  it("a primary down for a while: circuit opens, fallback serves, one probe, the primary returns", async () => {
    const main = () => receivedFor(primary, mainModel("recover"))
    const servedBy = async (content: string) => {
      const answer = await chat("recover", content)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.text).choices[0].message.content).toBe(`Hello from mock: ${content}`)
      return answer.headers.get("x-apiproxy-provider")
    }
    primary.setDefault({ status: 503 })
    for (let i = 1; i <= 3; i++) expect(await servedBy(`down ${i}`)).toBe("recover-fb")
    expect(main()).toHaveLength(7)
    // Open: the primary is not called at all.
    expect(await servedBy("down 4")).toBe("recover-fb")
    expect(main()).toHaveLength(7)

    // Cooldown over, still down: exactly one probe, which fails and is not retried; the client never notices.
    await new Promise((r) => setTimeout(r, 1_100))
    expect(await servedBy("probe fails")).toBe("recover-fb")
    expect(main()).toHaveLength(8)
    // Reopened for longer (the cooldown doubled, up to its cap): still skipped after the first cooldown.
    await new Promise((r) => setTimeout(r, 1_100))
    expect(await servedBy("still open")).toBe("recover-fb")
    expect(main()).toHaveLength(8)

    // The primary recovers; after the cooldown one probe goes through and closes the circuit.
    primary.setDefault(undefined)
    await new Promise((r) => setTimeout(r, 1_000))
    expect(await servedBy("probe succeeds")).toBe("recover-main")
    expect(main()).toHaveLength(9)
    expect(await servedBy("back to normal")).toBe("recover-main")
    expect(await servedBy("and stays")).toBe("recover-main")
    expect(main()).toHaveLength(11)
    await expectHealthy()
  })

  it("fail-over accounting: the reported model and usage are the fallback's", async () => {
    primary.setDefault({ status: 503 })
    backup.setDefault({ usage: { inputTokens: 11, outputTokens: 7 } })
    const json = await chat("acct", "count me")
    expect(json.status).toBe(200)
    expect(json.headers.get("x-apiproxy-provider")).toBe("acct-fb")
    expect(json.headers.get("x-apiproxy-model")).toBe(fbModel("acct"))
    expect(json.headers.get("x-apiproxy-attempts")).toBe("4")
    const body = JSON.parse(json.text)
    expect(body.model).toBe(fbModel("acct"))
    expect(body.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 })

    // Streaming (the circuit is open by now, so the fallback serves at once): one usage chunk, the fallback's.
    const stream = await chat("acct", "count me too", {
      stream: true,
      extra: { stream_options: { include_usage: true } },
    })
    expect(stream.headers.get("x-apiproxy-model")).toBe(fbModel("acct"))
    const usages = dataFrames(stream.text)
      .filter((d) => d !== "[DONE]")
      .map(
        (d) => JSON.parse(d) as { usage?: { prompt_tokens: number; completion_tokens: number } | null; model: string },
      )
      .filter((c) => c.usage)
    expect(usages).toHaveLength(1)
    expect(usages[0]!.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 })
    expect(usages[0]!.model).toBe(fbModel("acct"))

    // Through translation (Anthropic client): usage is the fallback's too.
    const messages = await fetch(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": gateway.masterKey,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
      },
      body: JSON.stringify({ model: "acct", max_tokens: 50, messages: [{ role: "user", content: "translated" }] }),
    })
    expect(messages.status).toBe(200)
    expect(messages.headers.get("x-apiproxy-provider")).toBe("acct-fb")
    const anthropic = (await messages.json()) as { usage: { input_tokens: number; output_tokens: number } }
    expect(anthropic.usage).toMatchObject({ input_tokens: 11, output_tokens: 7 })
    await expectHealthy()
  })
})
