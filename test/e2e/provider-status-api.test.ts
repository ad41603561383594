import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * GET /providers/{id}/metrics, the parts the console's providers page shows: each upstream's
 * circuit, the provider's own circuit, each key's back-off state, and the model list with the last
 * discovery's result (a failed one with its reason, the key it was sent redacted).
 */
describe("provider status: circuits, key back-off, last discovery", () => {
  const goodKey = `sk-good-${randomBytes(8).toString("hex")}`
  const wrongKey = `sk-wrong-${randomBytes(8).toString("hex")}`
  let keyed: MockProvider
  let open: MockProvider
  let gateway: TestGateway

  const api = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )
  const call = (method: string, path: string) => api.call(method, path, gateway.masterKey)
  const chat = (model: string) =>
    api.call("POST", "/v1/chat/completions", gateway.masterKey, { model, messages: [{ role: "user", content: "hi" }] })

  beforeAll(async () => {
    keyed = await startMockProvider({ models: ["gpt-4o-mini", "gpt-4o"], apiKeys: [goodKey] })
    // A provider that echoes the rejected key in its error message, as some do.
    keyed.setDefault({ errorMessage: `Incorrect API key provided: ${wrongKey}` })
    open = await startMockProvider({ models: ["m-a", "m-b"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_COOLDOWN: "30 seconds", UPSTREAM_DISCOVERY_TIMEOUT: "2 seconds" },
      gatewayFile: {
        providers: [
          { id: "p-disc", protocol: "openai", base_url: keyed.url, keys: [{ value: goodKey, label: "main" }] },
          { id: "p-wrong", protocol: "openai", base_url: keyed.url, keys: [{ value: wrongKey, label: "bad" }] },
          {
            id: "p-static",
            protocol: "openai",
            base_url: open.url,
            keys: [{ value: "sk-static" }],
            models: ["m-a", "m-b"],
          },
        ],
      },
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await keyed?.close()
    await open?.close()
  })

  it("a discovered provider: its models, and when the discovery ran and how many it listed", async () => {
    const before = Date.now()
    const metrics = await call("GET", "/providers/p-disc/metrics")
    expect(metrics.status).toBe(200)
    expect(metrics.body.discovery).toMatchObject({
      source: "discovered",
      models: ["gpt-4o-mini", "gpt-4o"],
      last: { models: 2, error: null },
    })
    expect(Date.parse(metrics.body.discovery.last.at)).toBeGreaterThanOrEqual(before - 1000)
    expect(metrics.body.keys).toEqual([
      { id: expect.any(String), label: "main", backoff: "none", backoff_until: null, failures: 0, preference: 1 },
    ])
    expect(metrics.body.connection_circuit).toEqual({ status: "closed", retry_after_ms: null })
  })

  it("a discovery refused for a wrong key: the status and message, the key redacted; the key backs off after a probe", async () => {
    const metrics = await call("GET", "/providers/p-wrong/metrics")
    expect(metrics.body.discovery.source).toBe("discovered")
    expect(metrics.body.discovery.models).toBeNull()
    expect(metrics.body.discovery.last.models).toBeNull()
    expect(metrics.body.discovery.last.error).toMatch(/^HTTP 401: /)
    expect(metrics.body.discovery.last.error).toContain("[redacted]")
    expect(metrics.text).not.toContain(wrongKey)

    expect((await call("GET", "/providers/p-wrong/health")).body.status).toBe("degraded")
    const after = await call("GET", "/providers/p-wrong/metrics")
    const [key] = after.body.keys
    expect(key).toMatchObject({ label: "bad", backoff: "backoff", failures: 1 })
    expect(Date.parse(key.backoff_until)).toBeGreaterThan(Date.now())
    expect(key.preference).toBeLessThan(1)
    expect(after.text).not.toContain(wrongKey)
  })

  it("a static provider: its list, no discovery; each upstream's circuit, one opened by failures", async () => {
    open.setDefault({ status: 503 })
    for (let i = 0; i < 3; i++) {
      expect((await chat("p-static/m-a")).status).toBeGreaterThanOrEqual(500)
    }
    open.setDefault(undefined)
    const metrics = await call("GET", "/providers/p-static/metrics")
    expect(metrics.body.discovery).toEqual({ source: "static", models: ["m-a", "m-b"], last: null })
    expect(metrics.body.circuit.status).toBe("open")
    expect(metrics.body.connection_circuit.status).toBe("closed")
    const byModel = Object.fromEntries(
      (
        metrics.body.upstreams as ReadonlyArray<{
          model: string
          circuit: { status: string; retry_after_ms: number | null }
        }>
      ).map((u) => [u.model, u.circuit]),
    )
    expect(byModel["m-a"].status).toBe("open")
    expect(byModel["m-a"].retry_after_ms).toBeGreaterThan(0)
    expect(byModel["m-b"]).toEqual({ status: "closed", retry_after_ms: null })
    // One model asked for: that upstream only.
    const one = await call("GET", "/providers/p-static/metrics?model=m-b")
    expect(one.body.upstreams).toEqual([{ model: "m-b", circuit: { status: "closed", retry_after_ms: null } }])
  })
})
