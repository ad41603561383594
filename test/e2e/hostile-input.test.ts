import { validateHeaderValue } from "node:http"
import { connect } from "node:net"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { rawRequest } from "../support/RawHttp.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Hostile input on the generation routes (issue 11 items 1, 3, 5, 7): a model name can never
 * reach a response header or an upstream path unchecked, an unauthenticated body is never read,
 * and nothing a client sends can turn into a 500 or take the process down.
 *
 * `dynamic` is a mock whose models endpoint always fails: its providers' model lists are unknown,
 * so `provider/<anything>` is routed to them as it is (the case the issue's attacks needed).
 */
describe("hostile input on the generation routes", () => {
  let dynamic: MockProvider
  let known: MockProvider
  let gateway: TestGateway

  const failDiscovery = () => dynamic.setDefault((entry) => (entry.method === "GET" ? { status: 500 } : undefined))

  beforeAll(async () => {
    dynamic = await startMockProvider()
    failDiscovery()
    known = await startMockProvider({ models: ["qwen-模型"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000" },
      gatewayFile: {
        providers: [
          {
            id: "dyn",
            protocol: "openai",
            base_url: `${dynamic.url}/v1`,
            paths: { chat: "/chat/completions", responses: "/responses", models: "/models" },
            keys: [{ value: "sk-dyn" }],
          },
          { id: "dynant", protocol: "anthropic", base_url: dynamic.url, keys: [{ value: "sk-ant-dyn" }] },
          { id: "dyngem", protocol: "gemini", base_url: dynamic.url, keys: [{ value: "gem-dyn" }] },
          // An admin-configured id outside Latin-1: served, with a header that stays valid.
          { id: "cn", protocol: "openai", base_url: known.url, keys: [{ value: "sk-cn" }], models: ["qwen-模型"] },
        ],
        logical_models: [{ id: "cn-fast", upstreams: [{ provider: "cn", model: "qwen-模型" }] }],
      },
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await dynamic?.close()
    await known?.close()
  })

  beforeEach(() => {
    dynamic.reset()
    failDiscovery()
    known.reset()
  })

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    })

  /** The gateway still serves: a healthy request through the dynamic provider gets its answer. */
  const expectHealthy = async () => {
    const response = await post("/v1/chat/completions", {
      model: "dyn/gpt-4o-mini",
      messages: [{ role: "user", content: "still there?" }],
    })
    expect(response.status).toBe(200)
    expect(((await response.json()) as any).choices[0].message.content).toBe("Hello from mock: still there?")
  }

  /** Every request the dynamic mock received stayed on a path its providers may use. */
  const expectOnlyProviderPaths = () => {
    for (const r of dynamic.received)
      expect(r.path).toMatch(
        /^\/(v1\/(chat\/completions|responses|messages|models)|v1beta\/models(\/[^/]+:(generateContent|streamGenerateContent))?)$/,
      )
  }

  const chatBody = (model: string, stream: boolean) => ({ model, stream, messages: [{ role: "user", content: "hi" }] })
  const messagesBody = (model: string, stream: boolean) => ({
    model,
    stream,
    max_tokens: 16,
    messages: [{ role: "user", content: "hi" }],
  })
  const responsesBody = (model: string, stream: boolean) => ({ model, stream, input: "hi" })
  const geminiBody = { contents: [{ role: "user", parts: [{ text: "hi" }] }] }

  const hostileModels = [
    ["CR/LF", "a\r\nx-injected: 1"],
    ["a lone LF", "a\nb"],
    ["a NUL", "a\u0000b"],
    ["non-Latin-1", "模型"],
    ["Latin-1 above ASCII", "modèle"],
    ["a space", "gpt 4o"],
  ] as const

  describe("model names outside the allowed set are refused with 400 in the client's dialect (item 1)", () => {
    for (const [label, name] of hostileModels) {
      for (const stream of [false, true]) {
        it(`${label}, ${stream ? "streamed" : "JSON"}: chat, Responses, Messages`, async () => {
          for (const [path, body] of [
            ["/v1/chat/completions", chatBody(`dyn/${name}`, stream)],
            ["/v1/responses", responsesBody(`dyn/${name}`, stream)],
          ] as const) {
            const response = await post(path, body)
            expect(response.status, path).toBe(400)
            const error = ((await response.json()) as any).error
            expect(error.type).toBe("invalid_request_error")
            expect(error.param).toBe("model")
            expect(error.message).toMatch(/model/)
          }
          const messages = await post("/v1/messages", messagesBody(`dynant/${name}`, stream))
          expect(messages.status).toBe(400)
          const anthropic = (await messages.json()) as any
          expect(anthropic.type).toBe("error")
          expect(anthropic.error.type).toBe("invalid_request_error")
          expect(anthropic.error.message).toMatch(/model/)
          expect(dynamic.received.filter((r) => r.method === "POST")).toEqual([])
          await expectHealthy()
        })

        it(`${label}, ${stream ? "streamed" : "JSON"}: Gemini`, async () => {
          const action = stream ? "streamGenerateContent?alt=sse" : "generateContent"
          const response = await post(`/v1beta/models/dyngem/${encodeURIComponent(name)}:${action}`, geminiBody)
          expect(response.status).toBe(400)
          const error = ((await response.json()) as any).error
          expect(error.code).toBe(400)
          expect(error.status).toBe("INVALID_ARGUMENT")
          expect(error.message).toMatch(/model/)
          expect(dynamic.received.filter((r) => r.method === "POST")).toEqual([])
          await expectHealthy()
        })
      }
    }

    it("an over-long model name is refused without echoing it whole", async () => {
      const long = `dyn/${"a".repeat(10_000)}`
      const response = await post("/v1/chat/completions", chatBody(long, false))
      expect(response.status).toBe(400)
      const text = await response.text()
      expect(text.length).toBeLessThan(1_000)
    })

    it("real model ids pass the edge", async () => {
      for (const id of [
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "qwen/qwen-2.5:free",
        "claude-3-5-sonnet@20240620",
        "gemini-2.0-flash-001",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
      ]) {
        const response = await post("/v1/chat/completions", chatBody(`dyn/${id}`, false))
        expect(response.status, id).toBe(200)
        expect(response.headers.get("x-apiproxy-model")).toBe(id)
      }
    })
  })

  describe("a provider's own model id outside Latin-1 (item 1)", () => {
    it("is served, JSON and streamed, with a percent-encoded x-apiproxy-model header", async () => {
      const json = await post("/v1/chat/completions", chatBody("cn-fast", false))
      expect(json.status).toBe(200)
      expect(json.headers.get("x-apiproxy-model")).toBe("qwen-%E6%A8%A1%E5%9E%8B")
      expect(json.headers.get("x-apiproxy-provider")).toBe("cn")
      expect(((await json.json()) as any).choices[0].message.content).toBe("Hello from mock: hi")
      expect(known.received[0]!.body).toMatchObject({ model: "qwen-模型" })

      const stream = await post("/v1/chat/completions", chatBody("cn-fast", true))
      expect(stream.status).toBe(200)
      expect(stream.headers.get("x-apiproxy-model")).toBe("qwen-%E6%A8%A1%E5%9E%8B")
      expect(await stream.text()).toContain("[DONE]")

      const gemini = await post("/v1beta/models/cn-fast:generateContent", geminiBody)
      expect(gemini.status).toBe(200)
      expect(gemini.headers.get("x-apiproxy-model")).toBe("qwen-%E6%A8%A1%E5%9E%8B")
      await expectHealthy()
    })
  })

  describe("a model id never changes the upstream path (item 3)", () => {
    const traversals = [
      "gem%2F..%2F..%2Fv1%2Fadmin%2Fdelete-everything",
      "dyngem%2F..%2F..%2Fv1%2Fadmin%2Fdelete-everything",
      "dyngem/..%2F..%2Fv1%2Fadmin",
      "dyngem/../../v1/admin/delete-everything",
      "dyngem/%2E%2E/%2e%2e/v1/admin",
      "dyngem/a%3Fkey%3Dx",
      "dyngem/a%23frag",
      "dyngem/a%5C..%5Cb",
      "dyngem%2f..%2f..%2fv1",
    ]
    it.each(traversals)("POST /v1beta/models/%s:generateContent is refused with a Gemini 400", async (model) => {
      // Sent raw: fetch would resolve the dot segments itself.
      const response = await rawRequest(Number(new URL(gateway.url).port), {
        method: "POST",
        target: `/v1beta/models/${model}:generateContent`,
        headers: [
          ["authorization", `Bearer ${gateway.masterKey}`],
          ["content-type", "application/json"],
        ],
        body: JSON.stringify(geminiBody),
      })
      expect(response?.status).toBe(400)
      const error = JSON.parse(response!.body).error
      expect(error.status).toBe("INVALID_ARGUMENT")
      expect(dynamic.received.filter((r) => r.method === "POST")).toEqual([])
      expectOnlyProviderPaths()
    })

    it("an 8 KB Gemini path: a 400 quoting a short excerpt, and a bounded access line", async () => {
      const response = await post(`/v1beta/models/dyngem/${"a%41".repeat(2_000)}:generateContent`, geminiBody, {
        "x-request-id": "long-gemini-path",
      })
      expect(response.status).toBe(400)
      expect((await response.text()).length).toBeLessThan(1_000)
      await expect.poll(() => gateway.logs.find((line) => line.includes("long-gemini-path"))).toBeTruthy()
      const line = gateway.logs.find((l) => l.includes("long-gemini-path"))!
      expect(line.length).toBeLessThan(1_000)
    })

    it("a model with dot segments in a body is refused before it reaches a Gemini upstream", async () => {
      for (const model of ["dyngem/../../v1/admin", "dyngem/./x", "dyngem/a/../../../v1/admin"]) {
        const response = await post("/v1/chat/completions", chatBody(model, false))
        expect(response.status, model).toBe(400)
        expect(((await response.json()) as any).error.param).toBe("model")
      }
      expect(dynamic.received.filter((r) => r.method === "POST")).toEqual([])
    })

    it("a provider-prefixed Gemini model reaches the provider as one path segment", async () => {
      const response = await post("/v1beta/models/dyngem/gemini-2.5-flash:generateContent", geminiBody)
      expect(response.status).toBe(200)
      const chat = await post("/v1/chat/completions", chatBody("dyngem/tuned:v1@2", false))
      expect(chat.status).toBe(200)
      const posts = dynamic.received.filter((r) => r.method === "POST").map((r) => r.path)
      expect(posts).toEqual([
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1beta/models/tuned%3Av1%402:generateContent",
      ])
      expectOnlyProviderPaths()
    })
  })

  describe("authentication comes before the body (item 5)", () => {
    /** Sends headers announcing a big body and a first slice of it; resolves with what came back and when. */
    const rawPost = (headers: string, firstBytes: number, waitMs = 3_000) =>
      new Promise<{ readonly text: string; readonly ms: number; readonly closed: boolean }>((resolve, reject) => {
        const url = new URL(gateway.url)
        const started = performance.now()
        const socket = connect(Number(url.port), url.hostname)
        let text = ""
        let answeredMs = 0
        const timer = setTimeout(() => {
          socket.destroy()
          resolve({ text, ms: answeredMs || performance.now() - started, closed: false })
        }, waitMs)
        socket.on("data", (chunk) => {
          if (text === "") answeredMs = performance.now() - started
          text += chunk.toString("latin1")
        })
        socket.on("end", () => {
          clearTimeout(timer)
          socket.destroy()
          resolve({ text, ms: answeredMs, closed: true })
        })
        socket.on("error", (error) => {
          clearTimeout(timer)
          // The server may reset a connection whose body it never read: fine once it answered.
          if (text !== "") resolve({ text, ms: answeredMs, closed: true })
          else reject(error)
        })
        socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 9990000\r\n${headers}\r\n`,
        )
        socket.write(Buffer.alloc(firstBytes, 0x20))
      })

    it("a missing key gets 401 at once, the body unread and the connection closed", async () => {
      const answer = await rawPost("", 64 * 1024)
      console.log(`unauthenticated 9.99 MB body (no key): 401 after ${answer.ms.toFixed(1)} ms`)
      expect(answer.text).toMatch(/^HTTP\/1\.1 401 /)
      expect(answer.text.toLowerCase()).toContain("connection: close")
      expect(answer.text).toContain("invalid_api_key")
      expect(answer.closed).toBe(true)
      expect(answer.ms).toBeLessThan(1_000)
    })

    it("an invalid key gets 401 at once, the body unread and the connection closed", async () => {
      const answer = await rawPost("authorization: Bearer apx-not-a-real-key\r\n", 64 * 1024)
      console.log(`unauthenticated 9.99 MB body (bad key): 401 after ${answer.ms.toFixed(1)} ms`)
      expect(answer.text).toMatch(/^HTTP\/1\.1 401 /)
      expect(answer.text.toLowerCase()).toContain("connection: close")
      expect(answer.closed).toBe(true)
      expect(answer.ms).toBeLessThan(1_000)
    })

    it("30 connections pushing 9.99 MB bodies with a bad key: all 401 and closed, memory stays flat", async () => {
      const url = new URL(gateway.url)
      const before = process.memoryUsage().rss
      const started = performance.now()
      const chunk = Buffer.alloc(256 * 1024, 0x20)
      const one = (i: number) =>
        new Promise<{ readonly status: string; readonly ms: number }>((resolve) => {
          const socket = connect(Number(url.port), url.hostname)
          let head = ""
          let answeredMs = 0
          let sent = 0
          const push = () => {
            while (!socket.destroyed && sent < 9_990_000) {
              sent += chunk.length
              if (!socket.write(chunk)) return void socket.once("drain", push)
            }
          }
          socket.on("connect", () => {
            socket.write(
              `POST /v1/messages HTTP/1.1\r\nhost: ${url.host}\r\nx-api-key: apx-bad-${i}\r\ncontent-type: application/json\r\ncontent-length: 9990000\r\n\r\n`,
            )
            push()
          })
          socket.on("data", (data) => {
            if (head === "") answeredMs = performance.now() - started
            head += data.toString("latin1")
          })
          socket.on("error", () => undefined)
          socket.on("close", () => resolve({ status: head.slice(0, 12), ms: answeredMs }))
        })
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => one(i)))
      const grownMb = (process.memoryUsage().rss - before) / 1_048_576
      const slowest = Math.max(...answers.map((a) => a.ms))
      console.log(
        `30 × 9.99 MB unauthenticated bodies: all answered within ${slowest.toFixed(0)} ms, RSS grew ${grownMb.toFixed(1)} MB`,
      )
      for (const answer of answers) expect(answer.status).toBe("HTTP/1.1 401")
      expect(slowest).toBeLessThan(3_000)
      // Buffering the bodies (the old behaviour) would take ~300 MB.
      expect(grownMb).toBeLessThan(150)
      await expectHealthy()
    })

    it("a valid key still has its body read (and limited)", async () => {
      const ok = await post("/v1/chat/completions", chatBody("dyn/gpt-4o-mini", false))
      expect(ok.status).toBe(200)
      const answer = await rawPost(`authorization: Bearer ${gateway.masterKey}\r\n`, 1024, 1_000)
      // The body never completes: the gateway waits for it instead of answering.
      expect(answer.text).toBe("")
      await expectHealthy()
    })
  })

  describe("inputs that used to give 500 get 400 (item 7)", () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

    it.each([
      [
        "/v1/chat/completions",
        (deep: string) => `{"model":"dyn/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`,
      ],
      [
        "/v1/chat/completions",
        (deep: string) =>
          `{"model":"dyngem/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"x":${deep}}}}]}`,
      ],
      ["/v1/responses", (deep: string) => `{"model":"dyn/gpt-4o-mini","input":"hi","extra":${deep}}`],
      [
        "/v1/messages",
        (deep: string) =>
          `{"model":"dynant/claude","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object","x":${deep}}}]}`,
      ],
      [
        "/v1beta/models/dyngem/gemini-2.5-flash:generateContent",
        (deep: string) => `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"x":${deep}}`,
      ],
    ] as const)("100 000-level nesting on %s is a 400", async (path, build) => {
      const response = await post(path, build(nested(100_000)))
      expect(response.status).toBe(400)
      const text = await response.text()
      expect(text).toMatch(/nest/)
      expect(text.length).toBeLessThan(1_000)
      expect(dynamic.received.filter((r) => r.method === "POST")).toEqual([])
      await expectHealthy()
    })

    it.each(["dynant/claude", "dyngem/gemini-2.5-flash"])(
      "deeply nested tool arguments (a JSON string) translated for %s are not a 500",
      async (model) => {
        // An object, not an array: the codecs only take objects as tool input.
        const deep = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`
        const response = await post("/v1/chat/completions", {
          model,
          messages: [
            { role: "user", content: "weather?" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: deep } }],
            },
            { role: "tool", tool_call_id: "call_1", content: deep },
            { role: "user", content: "and now?" },
          ],
        })
        expect(response.status).toBe(200)
        const sent = JSON.stringify(dynamic.received.find((r) => r.method === "POST")?.body)
        expect(sent.length).toBeLessThan(2_000_000)
        await expectHealthy()
      },
    )

    it("nesting within the limit is served", async () => {
      const response = await post(
        "/v1/chat/completions",
        `{"model":"dyn/gpt-4o-mini","messages":[{"role":"user","content":"[[[[["}],"metadata":${nested(60)}}`,
      )
      expect(response.status).toBe(200)
    })

    it.each(["gem%ZZ", "dyngem/a%", "dyngem/%E6%A8", "%"])(
      "a malformed %% escape in a Gemini path (%s) is a Gemini 400",
      async (model) => {
        const response = await post(`/v1beta/models/${model}:generateContent`, geminiBody)
        expect(response.status).toBe(400)
        const error = ((await response.json()) as any).error
        expect(error.status).toBe("INVALID_ARGUMENT")
        await expectHealthy()
      },
    )
  })

  it("every x-apiproxy-* header it sent was a valid header value", async () => {
    const response = await post("/v1/chat/completions", chatBody("cn-fast", false))
    for (const name of ["x-apiproxy-model", "x-apiproxy-provider", "x-apiproxy-attempts"]) {
      const value = response.headers.get(name)
      expect(value, name).toBeTruthy()
      expect(() => validateHeaderValue(name, value!)).not.toThrow()
    }
  })
})
