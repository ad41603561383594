import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { rawRequest } from "../support/RawHttp.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * One HTTP edge (issue 13 item 1): every route — the generation fast path, the routed data plane,
 * the management API, health, an unknown path — gets its request id and its access line in the
 * same place and the same shape; the data-plane routes check the caller the same way and answer
 * a missing key with the same error in the client's dialect.
 */
describe("one HTTP edge for every route", () => {
  let mock: MockProvider
  let gateway: TestGateway

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({
      gatewayFile: {
        providers: [
          { id: "mock", protocol: "openai", base_url: mock.url, keys: [{ value: "sk-mock" }], models: ["gpt-4o-mini"] },
        ],
      },
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  const accessLine = async (requestId: string): Promise<string> => {
    const deadline = Date.now() + 2_000
    for (;;) {
      const line = gateway.logs.find((l) => l.includes("msg=request ") && l.includes(`request_id=${requestId}`))
      if (line !== undefined) return line
      if (Date.now() > deadline)
        throw new Error(
          `no access line for ${requestId}: ${gateway.logs.filter((l) => l.includes(requestId)).join(" | ")} ${gateway.logs.slice(-3).join(" | ")}`,
        )
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it("every kind of route: the response carries the request id, and one access line names method, path, status", async () => {
    const auth = { authorization: `Bearer ${gateway.masterKey}` }
    const cases: Array<{ id: string; method: string; path: string; body?: string; status: number }> = [
      {
        id: "edge-gen",
        method: "POST",
        path: "/v1/chat/completions",
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
        status: 200,
      },
      { id: "edge-models", method: "GET", path: "/v1/models", status: 200 },
      { id: "edge-mgmt", method: "GET", path: "/providers", status: 200 },
      { id: "edge-health", method: "GET", path: "/health", status: 200 },
      { id: "edge-unknown", method: "GET", path: "/no/such/route", status: 404 },
    ]
    for (const c of cases) {
      const response = await fetch(`${gateway.url}${c.path}?key=sk-not-logged`, {
        method: c.method,
        headers: {
          ...auth,
          "x-request-id": c.id,
          ...(c.body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(c.body === undefined ? {} : { body: c.body }),
      })
      await response.text()
      expect([c.path, response.status, response.headers.get("x-request-id")]).toEqual([c.path, c.status, c.id])
      const line = await accessLine(c.id)
      expect(line).toContain(`method=${c.method}`)
      expect(line).toContain(`path=${c.path}`)
      expect(line).toContain(`status=${c.status}`)
      // The query (where a `?key=` credential may sit) is never logged.
      expect(line).not.toContain("sk-not-logged")
    }
    // Exactly one line per request, whichever stack served it.
    for (const c of cases)
      expect(
        gateway.logs
          .filter((l) => l.includes(`request_id=${c.id} `) || l.endsWith(`request_id=${c.id}`))
          .filter((l) => l.includes("msg=request ")),
      ).toHaveLength(1)
  })

  it("a client that leaves before its answer: status 499 in the access line", async () => {
    mock.script({ delayMs: 2_000 })
    const controller = new AbortController()
    const pending = fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${gateway.masterKey}`,
        "content-type": "application/json",
        "x-request-id": "edge-left",
      },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "slow" }] }),
    }).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 200))
    controller.abort()
    await pending
    expect(await accessLine("edge-left")).toContain("status=499")
  })

  it("a missing key: the same 401 in the client's dialect on the fast path and on the routed data plane", async () => {
    const generation = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
    const models = await fetch(`${gateway.url}/v1/models`)
    const bodies = [await generation.json(), await models.json()]
    expect([generation.status, models.status]).toEqual([401, 401])
    expect(bodies[0]).toEqual(bodies[1])
    expect(bodies[0]).toMatchObject({
      error: { code: "invalid_api_key", message: "Missing API key: send 'Authorization: Bearer <key>'" },
    })
  })

  it("a request line the edge did not choose is logged bounded and printable", async () => {
    const long = `/v1beta/models/${"a%41".repeat(600)}:generateContent`
    const port = Number(new URL(gateway.url).port)
    const raw = await rawRequest(port, {
      method: "POST",
      target: long,
      headers: [
        ["x-request-id", "edge-long"],
        ["x-goog-api-key", gateway.masterKey],
        ["content-type", "application/json"],
      ],
      body: "{}",
    })
    expect(raw?.status).toBeGreaterThanOrEqual(400)
    const line = await accessLine("edge-long")
    expect(line.length).toBeLessThan(1_000)
  })
})
