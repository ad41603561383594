import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

describe("gateway foundation (real server)", () => {
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(async () => {
    await gateway?.close()
  })

  it("serves /health and /ready without auth", async () => {
    const health = await fetch(`${gateway.url}/health`)
    expect(health.status).toBe(200)
    expect((await health.json()) as any).toEqual({ status: "ok" })
    const ready = await fetch(`${gateway.url}/ready`)
    expect(ready.status).toBe(200)
    expect((await ready.json()) as any).toMatchObject({ status: "ready", checks: { database: "ok", kv: "ok" } })
  })

  it("returns a request id, echoing a sane client one", async () => {
    const own = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "trace-123" } })
    expect(own.headers.get("x-request-id")).toBe("trace-123")
    const generated = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "bad id with spaces" } })
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })

  it("rejects a missing key with 401 in the OpenAI envelope", async () => {
    const response = await fetch(`${gateway.url}/v1/models`)
    expect(response.status).toBe(401)
    const body = (await response.json()) as any
    expect(body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key", param: null })
    expect(typeof body.error.message).toBe("string")
  })

  it("rejects a wrong key with 401", async () => {
    for (const headers of [
      { authorization: "Bearer apx-not-a-real-key-000000000000" },
      { "x-api-key": "wrong" },
    ] as Array<Record<string, string>>) {
      const response = await fetch(`${gateway.url}/v1/models`, { headers })
      expect(response.status).toBe(401)
      expect(((await response.json()) as any).error.type).toBe("authentication_error")
    }
  })

  it("accepts the master key as Bearer and as X-API-Key", async () => {
    const bearer = await fetch(`${gateway.url}/v1/models`, {
      headers: { authorization: `Bearer ${gateway.masterKey}` },
    })
    expect(bearer.status).toBe(200)
    expect((await bearer.json()) as any).toEqual({ object: "list", data: [] })
    const header = await fetch(`${gateway.url}/v1/models`, { headers: { "x-api-key": gateway.masterKey } })
    expect(header.status).toBe(200)
  })

  it("answers unknown paths with a JSON 404, never HTML", async () => {
    const response = await fetch(`${gateway.url}/nope?key=secret`)
    expect(response.status).toBe(404)
    expect(response.headers.get("content-type")).toContain("application/json")
    const body = (await response.json()) as any
    expect(body.error.code).toBe("not_found")
    expect(JSON.stringify(body)).not.toContain("secret")
  })

  it("refuses a body over the limit with 413 and keeps serving", async () => {
    const small = await startTestGateway({ env: { BODY_LIMIT_BYTES: "1024" } })
    try {
      const big = JSON.stringify({ model: "x", messages: [{ role: "user", content: "a".repeat(4096) }] })
      const response = await fetch(`${small.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${small.masterKey}`, "content-type": "application/json" },
        body: big,
      })
      expect(response.status).toBe(413)
      expect(((await response.json()) as any).error.code).toBe("request_too_large")
      const health = await fetch(`${small.url}/health`)
      expect(health.status).toBe(200)
    } finally {
      await small.close()
    }
  })

  it("rejects a body that is not JSON with 400", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: "{not json",
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as any).error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_json",
    })
  })

  it("never logs the credential a client sent", async () => {
    await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${gateway.masterKey}` } })
    expect(gateway.logs.length).toBeGreaterThan(0)
    expect(gateway.logs.join("\n")).not.toContain(gateway.masterKey)
  })
})
