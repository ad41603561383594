import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type RawAnswer, rawRequest } from "../support/RawHttp.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Generated hostile requests at every route of the real gateway (fast-check): bodies, header
 * values, paths and model names a hostile client could send. Whatever comes in, the gateway
 * answers with a well-formed status line, never a 5xx of its own (the mock upstream is healthy,
 * so no 5xx can come from there), never a header the client smuggled in, never a request to the
 * provider outside the provider's API paths — and it keeps serving.
 */

const INJECTED = "x-injected"
const UPSTREAM_PATHS = [
  /^\/v1\/chat\/completions$/,
  /^\/v1\/responses$/,
  /^\/v1\/messages$/,
  /^\/v1\/models$/,
  /^\/v1beta\/models$/,
  // The Gemini provider's models path is set to a missing one (an unknown list); its calls live under it.
  /^\/no-model-list(\/models\/[A-Za-z0-9._~%@+-]+:(generateContent|streamGenerateContent))?$/,
  /^\/v1beta\/models\/[A-Za-z0-9._~%@+-]+:(generateContent|streamGenerateContent)$/,
]

/** Strings a hostile client likes: control bytes, CR/LF header smuggling, path escapes, non-Latin-1. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    `x\r\n${INJECTED}: 1`,
    `x\n${INJECTED}: 1`,
    "qwen-模型",
    "gem%2F..%2F..%2Fv1%2Fadmin%2Fdelete-everything",
    "../../v1/admin",
    "a/../../b",
    "%",
    "%E0%A4%A",
    "model?key=stolen#frag",
    "\u0000",
    "😀".repeat(30),
    "a".repeat(3000),
    "' OR 1=1 --",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style probe, meant literally
    "${jndi:ldap://127.0.0.1/x}",
  ),
)

/** A model name: hostile on its own or behind a provider prefix whose model list is unknown. */
const modelName = fc.oneof(
  hostileString,
  fc.tuple(fc.constantFrom("oai/", "gem/", "claude/", "nope/"), hostileString).map(([p, s]) => p + s),
)

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

/** A body: random JSON, a generation body with a hostile model or deep nesting, or no JSON at all. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({ model: modelName, stream: fc.boolean(), content: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 3 })) })
    .map(({ model, stream, content }) =>
      JSON.stringify({ model, stream, messages: [{ role: "user", content }], max_tokens: 16 }),
    ),
  fc.constantFrom(
    "",
    "{",
    "null",
    "[]",
    `{"model":"gpt-4o-mini","messages":${nested(100_000)}}`,
    `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t","input_schema":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}]}`,
    `{"model":"gpt-4o-mini","input":${nested(100_000)}}`,
    `{"contents":${nested(100_000)}}`,
    `{"username":"${"u".repeat(100_000)}","password":"p"}`,
    `{"requests_per_minute":1e12,"tokens_per_minute":2147483648,"max_qps":1e12,"name":"k"}`,
    "\u0000\u0001\u0002",
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
)

const credentialHeader = (gateway: TestGateway) =>
  fc.oneof(
    fc.constant<ReadonlyArray<readonly [string, string]>>([]),
    fc.constant([["authorization", `Bearer ${gateway.masterKey}`] as const]),
    fc.constant([["x-api-key", gateway.masterKey] as const]),
    fc.constant([["x-goog-api-key", gateway.masterKey] as const]),
    hostileString.map((s) => [["authorization", `Bearer ${s}`] as const]),
    hostileString.map((s) => [["x-api-key", s] as const]),
  )

const extraHeaders = fc.array(
  fc.tuple(
    fc.constantFrom("x-session-id", "x-request-id", "accept", "content-type", "anthropic-version", "x-forwarded-for"),
    hostileString,
  ),
  { maxLength: 3 },
)

const GENERATION_TARGETS = ["/v1/chat/completions", "/chat/completions", "/v1/responses", "/responses", "/v1/messages"]

/** A request target: a route of the gateway, often with a hostile path segment or query. */
const target = fc.oneof(
  fc.constantFrom(...GENERATION_TARGETS),
  fc
    .tuple(modelName, fc.constantFrom(":generateContent", ":streamGenerateContent?alt=sse", ":countTokens", ""))
    .map(([m, action]) => `/v1beta/models/${encodeURIComponent(m).replace(/%25/g, "%")}${action}`),
  hostileString.map((s) => `/v1beta/models/${s.replace(/[\r\n ]/g, "")}:generateContent`),
  fc.constantFrom(
    "/v1/models",
    "/models",
    "/health",
    "/ready",
    "/openapi.json",
    "/",
    "/auth/me",
    "/users",
    "/providers",
    "/logical-models",
    "/usage",
    "/logs",
  ),
  hostileString.map((s) => `/providers/${encodeURIComponent(s)}/models`),
  hostileString.map((s) => `/context/${encodeURIComponent(s)}`),
  hostileString.map((s) => `/usage?user_id=${encodeURIComponent(s)}&from=${encodeURIComponent(s)}`),
  fc
    .tuple(
      fc.constantFrom("model", "provider", "status", "error_class", "cursor", "limit", "api_key_id", "to"),
      hostileString,
    )
    .map(([name, s]) => `/logs?${name}=${encodeURIComponent(s)}`),
  hostileString.map((s) => `/users/${encodeURIComponent(s)}`),
  hostileString.map((s) => `/users/${encodeURIComponent(s)}/api-keys`),
  fc.constantFrom(
    "/auth/login",
    "/auth/refresh",
    "/auth/logout",
    "/auth/register",
    "/system/admin/init",
    "/users",
    "/logical-models",
    "/routing/decide",
  ),
)

const method = fc.constantFrom("GET", "POST", "POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

const headerNames = (answer: RawAnswer) => answer.headers.map(([name]) => name)

describe("hostile input at every route (fuzz)", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let port: number
  let sent = 0
  const statuses = new Map<number, number>()

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000", LOGIN_MAX_FAILURES: "0" },
      gatewayFile: {
        providers: [
          {
            id: "oai",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-oai" }],
            paths: { models: "/no-model-list" },
          },
          {
            id: "claude",
            protocol: "anthropic",
            base_url: mock.url,
            keys: [{ value: "sk-ant" }],
            paths: { models: "/no-model-list" },
          },
          {
            id: "gem",
            protocol: "gemini",
            base_url: mock.url,
            keys: [{ value: "gem-key" }],
            paths: { models: "/no-model-list" },
          },
          {
            id: "listed",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-listed" }],
            models: ["gpt-4o-mini", "qwen-模型"],
          },
        ],
      },
    })
    port = Number(new URL(gateway.url).port)
  })

  afterAll(async () => {
    console.log(
      `fuzz: ${sent} hostile requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; upstream requests ${mock.count}`,
    )
    await gateway?.close()
    await mock?.close()
  })

  const expectStillServing = async () => {
    const health = await rawRequest(port, { method: "GET", target: "/health" })
    expect(health?.status).toBe(200)
    const chat = await rawRequest(port, {
      method: "POST",
      target: "/v1/chat/completions",
      headers: [
        ["authorization", `Bearer ${gateway.masterKey}`],
        ["content-type", "application/json"],
      ],
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ok?" }] }),
    })
    expect(chat?.status).toBe(200)
  }

  const check = (answer: RawAnswer | undefined, description: string) => {
    sent++
    // A refused connection (no status line) is allowed; a crashed process is caught by expectStillServing.
    if (answer === undefined) return
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
    expect(answer.status, `${description}\n${answer.head}\n${answer.body.slice(0, 300)}`).toBeGreaterThanOrEqual(200)
    expect(answer.status, `${description}\n${answer.head}\n${answer.body.slice(0, 300)}`).toBeLessThan(500)
    expect(headerNames(answer), description).not.toContain(INJECTED)
    for (const [, value] of answer.headers) expect(value, description).not.toMatch(/[\r\n\u0000]/)
    expect(
      answer.body.length,
      `${description}: the answer is larger than any input excerpt should make it`,
    ).toBeLessThan(200_000)
  }

  const expectUpstreamPathsSafe = () => {
    for (const request of mock.received) {
      expect(
        UPSTREAM_PATHS.some((p) => p.test(request.path)),
        `the gateway sent ${request.method} ${request.url} to the provider`,
      ).toBe(true)
    }
    mock.reset()
  }

  it("generation routes: hostile models, bodies and headers", { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...GENERATION_TARGETS),
        body,
        credentialHeader(gateway),
        extraHeaders,
        async (path, payload, credential, extra) => {
          const description = `POST ${path} ${payload.slice(0, 200)}`
          check(
            await rawRequest(port, { method: "POST", target: path, headers: [...credential, ...extra], body: payload }),
            description,
          )
        },
      ),
      { numRuns: 800 },
    )
    expectUpstreamPathsSafe()
    await expectStillServing()
  })

  it("Gemini paths: hostile model segments, escapes and actions", { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(target, body, credentialHeader(gateway), async (path, payload, credential) => {
        if (!path.startsWith("/v1beta/")) return
        check(
          await rawRequest(port, { method: "POST", target: path, headers: credential, body: payload }),
          `POST ${path}`,
        )
      }),
      { numRuns: 600 },
    )
    expectUpstreamPathsSafe()
    await expectStillServing()
  })

  it("every other route: hostile methods, paths, bodies and credentials", { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        target,
        body,
        credentialHeader(gateway),
        extraHeaders,
        async (verb, path, payload, credential, extra) => {
          const description = `${verb} ${path} ${payload.slice(0, 200)}`
          check(
            await rawRequest(port, { method: verb, target: path, headers: [...credential, ...extra], body: payload }),
            description,
          )
        },
      ),
      { numRuns: 1000 },
    )
    expectUpstreamPathsSafe()
    await expectStillServing()
  })

  it("hostile header values never reach a response header", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, async (value) => {
        const safe = value.replace(/[\r\n]/g, " ")
        for (const name of ["x-request-id", "x-session-id"]) {
          const answer = await rawRequest(port, {
            method: "POST",
            target: "/v1/chat/completions",
            headers: [
              ["authorization", `Bearer ${gateway.masterKey}`],
              [name, safe],
            ],
            body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
          })
          check(answer, `${name}: ${JSON.stringify(safe)}`)
        }
      }),
      { numRuns: 150 },
    )
    await expectStillServing()
  })
})
