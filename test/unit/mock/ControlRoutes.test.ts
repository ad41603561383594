import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"

/** The mock's fault injection over HTTP (`controlRoutes`, on in `npm run demo`). */
let mock: MockProvider
let openai: OpenAI

const control = (method: string, path: string, body?: string) =>
  fetch(`${mock.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
  }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }))

const ask = () =>
  openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ping" }] })

beforeAll(async () => {
  mock = await startMockProvider({ controlRoutes: true })
  openai = new OpenAI({ apiKey: "sk-test", baseURL: `${mock.url}/v1`, maxRetries: 0 })
})
afterAll(() => mock.close())
beforeEach(() => mock.reset())

describe("mock control routes", () => {
  it("a scripted list is consumed in order by the requests it matches, then answers are normal again", async () => {
    const scripted = await control(
      "POST",
      "/mock/script",
      JSON.stringify([
        { status: 503, match: { path: "/v1/chat/completions" } },
        { text: "scripted answer", match: { model: "gpt-4o-mini" } },
      ]),
    )
    expect(scripted).toEqual({ status: 200, json: { requests: 0, pending: 2 } })
    await expect(ask()).rejects.toMatchObject({ status: 503 })
    expect((await ask()).choices[0]!.message.content).toBe("scripted answer")
    expect((await ask()).choices[0]!.message.content).toBe("Hello from mock: ping")
    expect((await control("GET", "/mock/state")).json).toEqual({ requests: 3, pending: 0 })
  })

  it("a default applies to every request until cleared with null; reset clears queue, default and count", async () => {
    expect(
      (await control("PUT", "/mock/default", JSON.stringify({ status: 429, headers: { "retry-after": "1" } }))).status,
    ).toBe(200)
    await expect(ask()).rejects.toMatchObject({ status: 429 })
    await expect(ask()).rejects.toMatchObject({ status: 429 })
    expect((await control("PUT", "/mock/default", "null")).status).toBe(200)
    expect((await ask()).choices[0]!.message.content).toBe("Hello from mock: ping")
    await control("POST", "/mock/script", JSON.stringify({ status: 500 }))
    expect(await control("POST", "/mock/reset")).toEqual({ status: 200, json: { requests: 0, pending: 0 } })
    expect((await ask()).choices[0]!.message.content).toBe("Hello from mock: ping")
  })

  it("a stream fault scripted over HTTP cuts the stream", async () => {
    await control("POST", "/mock/script", JSON.stringify({ cutAfterChunks: 1 }))
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "one two three four" }],
      stream: true,
    })
    await expect(
      (async () => {
        for await (const _ of stream) {
          /* drain */
        }
      })(),
    ).rejects.toThrow()
  })

  it("refuses what is not a behaviour, naming the field, and queues nothing", async () => {
    for (const [body, says] of [
      ["{not json", "expected a JSON body"],
      [JSON.stringify({ bogus: 1 }), "bogus"],
      [JSON.stringify({ status: 99 }), "status"],
      [JSON.stringify({ status: "503" }), "status"],
      [JSON.stringify({ headers: { "bad header": "x" } }), "headers"],
      [JSON.stringify({ headers: { ok: "line\r\nbreak" } }), "headers"],
      [JSON.stringify([{ cutAfterChunks: -1 }]), "cutAfterChunks"],
      [JSON.stringify("503"), "(body)"],
    ] as const) {
      const refused = await control("POST", "/mock/script", body)
      expect(refused.status, body).toBe(400)
      expect(String(refused.json.error), body).toContain(says)
    }
    expect(mock.pending()).toBe(0)
    expect((await control("PUT", "/mock/default", JSON.stringify({ delayMs: 1e9 }))).status).toBe(400)
  })

  it("an unknown control route is 404, a body over 1 MiB is 413, and neither counts as a provider request", async () => {
    expect((await control("GET", "/mock/nothing")).status).toBe(404)
    expect((await control("POST", "/mock/script", JSON.stringify({ text: "x".repeat(1_100_000) }))).status).toBe(413)
    expect(mock.count).toBe(0)
    expect(mock.received).toEqual([])
  })

  it("without controlRoutes, /mock/ is an unknown provider route like any other", async () => {
    const plain = await startMockProvider()
    try {
      const r = await fetch(`${plain.url}/mock/script`, { method: "POST", body: "{}" })
      expect(r.status).toBe(404)
      expect(plain.count).toBe(1)
    } finally {
      await plain.close()
    }
  })
})
