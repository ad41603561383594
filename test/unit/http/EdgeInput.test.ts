import { validateHeaderValue } from "node:http"
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { type ClientRequest, planExchange } from "../../../src/gateway/Exchange.js"
import { generationRouteOf, modelIdProblem, toGeneration } from "../../../src/http/Generation.js"
import { safeHeaderValue } from "../../../src/http/GenerationEdge.js"
import { parseJsonObject } from "../../../src/http/RequestBody.js"
import type { Dialect } from "../../../src/protocol/Canonical.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { geminiModelSegment } from "../../../src/protocol/gemini/Request.js"
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../../../src/protocol/Json.js"
import { defaultPaths, type Provider } from "../../../src/registry/Provider.js"
import type { UpstreamProtocol } from "../../../src/shared/ProviderVocabulary.js"
import { isWithinBaseUrl } from "../../../src/upstream/UpstreamClient.js"

/** Any UTF-16 string: lone surrogates, controls, CR/LF, Latin-1 and beyond. */
const anyString = fc.oneof(
  fc.fullUnicodeString({ maxLength: 80 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 80 }).map((codes) => String.fromCharCode(...codes)),
  fc
    .array(fc.constantFrom("a", ".", "/", "%", "2F", "..", "?", "#", "\\", "\r", "\n", ":", "模", "\ud800", "@"), {
      maxLength: 30,
    })
    .map((parts) => parts.join("")),
  fc.string({ minLength: 500, maxLength: 700 }),
)

describe("safeHeaderValue", () => {
  it("gives a valid, single-line header value for any string", () => {
    fc.assert(
      fc.property(anyString, (value) => {
        const safe = safeHeaderValue(value)
        expect(() => validateHeaderValue("x-apiproxy-model", safe)).not.toThrow()
        expect(safe).toMatch(/^[\x20-\x7e]*$/)
        expect(safe.length).toBeLessThanOrEqual(512)
      }),
      { numRuns: 2_000 },
    )
  })

  it("leaves printable ASCII alone and percent-encodes the rest as UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        expect(safeHeaderValue(value)).toBe(value)
      }),
    )
    expect(safeHeaderValue("qwen-模型")).toBe("qwen-%E6%A8%A1%E5%9E%8B")
    expect(safeHeaderValue("a\r\nx-injected: 1")).toBe("a%0D%0Ax-injected: 1")
    expect(safeHeaderValue("100%\u00e9")).toBe("100%25%C3%A9")
    expect(decodeURIComponent(safeHeaderValue("qwen-模型 ok"))).toBe("qwen-模型 ok")
  })
})

describe("modelIdProblem", () => {
  it("accepts the ids real providers use", () => {
    for (const id of [
      "gpt-4o-mini",
      "accounts/fireworks/models/llama-v3p1-8b-instruct",
      "gemini-2.0-flash-001",
      "qwen/qwen-2.5:free",
      "claude-3-5-sonnet@20240620",
      "anthropic.claude-3-5-sonnet-20240620-v1:0",
      "meta-llama/Llama-3.1-8B-Instruct",
      "ft:gpt-4o-mini:org:custom:id",
      "~anthropic/claude-sonnet-latest",
      "llama3:8b-instruct-q4_K_M",
    ]) {
      expect(modelIdProblem(id), id).toBeUndefined()
    }
  })

  it("refuses header breakers, path escapes and over-long ids", () => {
    for (const id of [
      "a\r\nb",
      "a\nb",
      "a\u0000b",
      "模型",
      "modèle",
      "a b",
      "a?b",
      "a#b",
      "a%2Fb",
      "a\\b",
      "../x",
      "a/../b",
      "a/./b",
      "a//b",
      "/a",
      "a/",
      ".",
      "..",
      "x".repeat(257),
      "",
    ]) {
      expect(modelIdProblem(id), JSON.stringify(id)).toBeDefined()
    }
  })

  it("an accepted id has no character outside the set and no dot or empty segment", () => {
    fc.assert(
      fc.property(anyString, (id) => {
        if (modelIdProblem(id) !== undefined) return
        expect(id).toMatch(/^[A-Za-z0-9._\-/:@+~]{1,256}$/)
        for (const segment of id.split("/")) expect(["", ".", ".."]).not.toContain(segment)
      }),
      { numRuns: 2_000 },
    )
  })
})

const provider = (protocol: UpstreamProtocol, baseUrl: string): Provider => ({
  id: "p",
  name: "p",
  protocol,
  baseUrl,
  type: "native",
  weight: 1,
  enabled: true,
  keys: [],
  models: null,
  aliases: {},
  paths: defaultPaths(protocol),
  retryableStatus: null,
  headers: {},
  costInput: null,
  costOutput: null,
})

const bodies: Record<Dialect, Record<string, unknown>> = {
  "openai-chat": { model: "m", messages: [{ role: "user", content: "hi" }] },
  "openai-responses": { model: "m", input: "hi" },
  anthropic: { model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] },
  gemini: { contents: [{ role: "user", parts: [{ text: "hi" }] }] },
}

const clientRequest = (dialect: Dialect, stream: boolean): ClientRequest => ({
  dialect,
  body: bodies[dialect],
  stream,
  requestedModel: "m",
  canonical: () => codecs[dialect].decodeRequest(bodies[dialect], { model: "m", stream }),
})

describe("upstream URLs", () => {
  const bases = ["http://127.0.0.1:9/proxy", "https://upstream.example/proxy/", "http://127.0.0.1:9"]

  it("always stay under the provider's base path, whatever the model id (every dialect pair)", () => {
    fc.assert(
      fc.property(
        anyString,
        fc.constantFrom<UpstreamProtocol>("openai", "anthropic", "gemini"),
        fc.constantFrom<Dialect>("openai-chat", "openai-responses", "anthropic", "gemini"),
        fc.constantFrom(...bases),
        fc.boolean(),
        (model, protocol, client, base, stream) => {
          const exchange = planExchange(clientRequest(client, stream), provider(protocol, base), model)
          if (Either.isLeft(exchange)) return
          const url = new URL(exchange.right.url)
          const basePath = new URL(base).pathname.replace(/\/+$/, "")
          expect(url.origin).toBe(new URL(base).origin)
          if (exchange.right.upstreamDialect === "gemini") {
            expect(url.pathname.startsWith(`${basePath}/v1beta/models/`)).toBe(true)
            // The model is one segment: nothing after `models/` but the segment and its method.
            expect(url.pathname.slice(`${basePath}/v1beta/models/`.length)).toMatch(
              /^[^/]*:(generateContent|streamGenerateContent)$/,
            )
            expect(url.hash).toBe("")
            expect(url.search).toBe(stream ? "?alt=sse" : "")
          } else {
            expect(url.pathname).toMatch(new RegExp(`^${basePath}/v1/(chat/completions|responses|messages)$`))
          }
          expect(isWithinBaseUrl(base, url)).toBe(true)
        },
      ),
      { numRuns: 3_000 },
    )
  })

  it("a Gemini model segment drops Gemini's own models/ prefix and encodes the rest", () => {
    expect(geminiModelSegment("gemini-2.5-flash")).toBe("gemini-2.5-flash")
    expect(geminiModelSegment("models/gemini-2.5-flash")).toBe("gemini-2.5-flash")
    expect(geminiModelSegment("../../v1/admin")).toBe("..%2F..%2Fv1%2Fadmin")
    expect(geminiModelSegment("a?b#c")).toBe("a%3Fb%23c")
    expect(geminiModelSegment("\ud800x")).toBe("%EF%BF%BDx")
  })

  it("isWithinBaseUrl refuses another origin, a sibling path and a resolved traversal", () => {
    const base = "http://127.0.0.1:9/proxy"
    expect(isWithinBaseUrl(base, new URL("http://127.0.0.1:9/proxy"))).toBe(true)
    expect(isWithinBaseUrl(base, new URL("http://127.0.0.1:9/proxy/v1/chat/completions"))).toBe(true)
    expect(isWithinBaseUrl(base, new URL("http://127.0.0.1:9/proxy/v1beta/models/../../../admin"))).toBe(false)
    expect(isWithinBaseUrl(base, new URL("http://127.0.0.1:9/proxyx/v1"))).toBe(false)
    expect(isWithinBaseUrl(base, new URL("http://127.0.0.2:9/proxy/v1"))).toBe(false)
    expect(isWithinBaseUrl(base, new URL("https://127.0.0.1:9/proxy/v1"))).toBe(false)
    expect(isWithinBaseUrl("not a url", new URL("http://127.0.0.1:9/"))).toBe(false)
    expect(isWithinBaseUrl("http://127.0.0.1:9", new URL("http://127.0.0.1:9/v1/admin"))).toBe(true)
  })
})

/** The nesting depth of a JSON value, computed the obvious (recursive) way. */
const depthOf = (value: unknown): number =>
  value !== null && typeof value === "object" ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0

describe("JSON nesting limit", () => {
  it("jsonNestsDeeperThan agrees with the recursive depth, brackets and quotes in strings included", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        expect(jsonNestsDeeperThan(JSON.stringify(value), limit)).toBe(depthOf(value) > limit)
      }),
      { numRuns: 2_000 },
    )
    expect(jsonNestsDeeperThan(JSON.stringify({ a: '[[[[[\\"[[[[', b: ["\\"] }), 2)).toBe(false)
  })

  it("parseJsonObject refuses 100 000 levels with a 400 and takes the limit itself", () => {
    const deep = parseJsonObject(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)
    expect(Either.isLeft(deep) && deep.left.code).toBe("json_too_deep")
    const atLimit = `${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}`
    expect(Either.isRight(parseJsonObject(`{"a":${atLimit}}`))).toBe(true)
    const over = `${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`
    expect(Either.isLeft(parseJsonObject(`{"a":${over}}`))).toBe(true)
  })
})

describe("toGeneration", () => {
  const routes = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1beta/models/x:generateContent"].map(
    (path) => generationRouteOf("POST", path)!,
  )

  it("never throws, for any body on any route and any Gemini path", () => {
    const geminiPath = fc.oneof(anyString, fc.webPath()).map((tail) => `/v1beta/models/${tail}`)
    fc.assert(
      fc.property(
        fc.constantFrom(...routes),
        fc.dictionary(
          fc.constantFrom("model", "messages", "contents", "system", "input", "tools", "stream", "x"),
          fc.jsonValue({ maxDepth: 5 }),
        ),
        anyString,
        geminiPath,
        (route, body, model, path) => {
          const result = toGeneration(route, path, Either.right({ ...body, model }), undefined)
          if (Either.isRight(result)) expect(modelIdProblem(result.right.model)).toBeUndefined()
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it("a malformed % escape in a Gemini path is an InvalidRequest about the model", () => {
    const result = toGeneration(routes[3]!, "/v1beta/models/gem%ZZ:generateContent", Either.right({}), undefined)
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "InvalidRequest", param: "model" })
  })

  it("Claude- and Gemini-style bodies on the chat route are normalised or refused, never thrown", () => {
    const gemini = toGeneration(
      routes[0]!,
      "/v1/chat/completions",
      Either.right({ model: "m", contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
      undefined,
    )
    expect(Either.isRight(gemini)).toBe(true)
  })
})

describe("codecs on hostile bodies", () => {
  const DIALECTS = ["openai-chat", "openai-responses", "anthropic", "gemini"] as const
  const part = fc.jsonValue({ maxDepth: 4 })
  const messages = fc.array(
    fc.record(
      {
        role: fc.constantFrom("user", "assistant", "tool", "system", "model", "developer"),
        content: fc.oneof(fc.string(), part),
        parts: part,
        tool_calls: part,
        type: fc.constantFrom("message", "function_call", "function_call_output", "reasoning"),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 5 },
  )
  const fields = fc.dictionary(
    fc.constantFrom(
      "system",
      "systemInstruction",
      "instructions",
      "tools",
      "tool_choice",
      "toolConfig",
      "generationConfig",
      "max_tokens",
      "response_format",
      "text",
      "reasoning",
      "thinking",
      "x",
    ),
    fc.jsonValue({ maxDepth: 6 }),
  )

  it("decodeRequest and encodeRequest never throw, for any dialect pair (the gateway calls them outside the edge)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DIALECTS),
        fc.constantFrom(...DIALECTS),
        fields,
        messages,
        (from, to, extra, list) => {
          const body = { ...extra, model: "m", messages: list, contents: list, input: list }
          const canonical = codecs[from].decodeRequest(body, { model: "m", stream: false })
          if (Either.isRight(canonical))
            JSON.stringify(codecs[to].encodeRequest(canonical.right, "m", { stream: true }).body)
        },
      ),
      { numRuns: 3_000 },
    )
  })
})
