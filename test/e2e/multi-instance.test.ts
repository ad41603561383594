import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { createStorage, type SharedStorage, startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Two gateway instances of one deployment, sharing PostgreSQL and Redis: what must agree across
 * instances (session bindings, circuit state, a provider key's max_qps) does. Needs a real
 * database server and Redis — the embedded database can be opened by one process only.
 */
const withoutSharedBackends = !process.env.DATABASE_URL || !process.env.REDIS_URL

describe.skipIf(withoutSharedBackends)(
  "two instances sharing PostgreSQL and Redis (skipped without DATABASE_URL and REDIS_URL)",
  () => {
    let primary: MockProvider
    let backup: MockProvider
    let storage: SharedStorage
    let a: TestGateway
    let b: TestGateway

    const chat = async (gateway: TestGateway, model: string, content: string, session?: string) => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gateway.masterKey}`,
          "content-type": "application/json",
          ...(session !== undefined ? { "x-session-id": session } : {}),
        },
        body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
      })
      const text = await response.text()
      return {
        status: response.status,
        provider: response.headers.get("x-apiproxy-provider"),
        headers: response.headers,
        text,
      }
    }

    const receivedFor = (mock: MockProvider, model: string) => mock.received.filter((r) => r.model === model)

    beforeAll(async () => {
      primary = await startMockProvider({ models: ["twin-model", "cb-main-model", "qps-model", "qps-solo-model"] })
      backup = await startMockProvider({ models: ["twin-model", "cb-fb-model", "qps-fb-model"] })
      storage = await createStorage()
      const file = {
        providers: [
          // Two equal upstreams: without stickiness a conversation would bounce between them.
          {
            id: "twin-a",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-twin-a" }],
            models: ["twin-model"],
          },
          {
            id: "twin-b",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-twin-b" }],
            models: ["twin-model"],
          },
          {
            id: "cb-main",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-cb-main" }],
            models: ["cb-main-model"],
          },
          {
            id: "cb-fb",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-cb-fb" }],
            models: ["cb-fb-model"],
          },
          {
            id: "qps-main",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-qps-main", max_qps: 2 }],
            models: ["qps-model"],
          },
          {
            id: "qps-fb",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-qps-fb" }],
            models: ["qps-fb-model"],
          },
          {
            id: "qps-solo",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-qps-solo", max_qps: 2 }],
            models: ["qps-solo-model"],
          },
        ],
        logical_models: [
          {
            id: "twin",
            upstreams: [
              { provider: "twin-a", model: "twin-model" },
              { provider: "twin-b", model: "twin-model" },
            ],
          },
          {
            id: "cb",
            upstreams: [
              { provider: "cb-main", model: "cb-main-model", priority: 0 },
              { provider: "cb-fb", model: "cb-fb-model", priority: 1 },
            ],
          },
          {
            id: "qps",
            upstreams: [
              { provider: "qps-main", model: "qps-model", priority: 0 },
              { provider: "qps-fb", model: "qps-fb-model", priority: 1 },
            ],
          },
          { id: "qps-solo", upstreams: [{ provider: "qps-solo", model: "qps-solo-model" }] },
        ],
      }
      const env = {
        CIRCUIT_FAILURE_THRESHOLD: "3",
        CIRCUIT_COOLDOWN: "1 second",
        UPSTREAM_HEADERS_TIMEOUT: "2 seconds",
      }
      // One after the other, as a rolling deployment would: both import the same file (idempotent).
      a = await startTestGateway({ storage, env, gatewayFile: file })
      b = await startTestGateway({ storage, env, gatewayFile: file })
    })

    afterAll(async () => {
      await a?.close()
      await b?.close()
      await storage?.close()
      await primary?.close()
      await backup?.close()
    })

    beforeEach(() => {
      primary.reset()
      backup.reset()
    })

    it("a session bound on one instance sticks on the other", async () => {
      for (const session of ["conv-1", "conv-2", "conv-3"]) {
        const first = await chat(a, "twin", `hello ${session}`, session)
        expect(first.status).toBe(200)
        const bound = first.provider
        for (let i = 0; i < 8; i++) {
          const next = await chat(i % 2 === 0 ? b : a, "twin", `turn ${i}`, session)
          expect(next.status).toBe(200)
          expect(next.provider).toBe(bound)
        }
      }
      // Without a session both upstreams get traffic (so the above was not luck).
      const seen = new Set<string | null>()
      for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await chat(i % 2 === 0 ? a : b, "twin", "anon")).provider)
      expect(seen).toEqual(new Set(["twin-a", "twin-b"]))
    })

    it("a circuit opened on one instance keeps the other away; a probe from either closes it", async () => {
      primary.setDefault({ status: 503 })
      // Three failed requests on A (a request's own retries count once; the third is not retried
      // once its failure opened the circuit).
      for (let i = 0; i < 3; i++) {
        const onA = await chat(a, "cb", `down on a ${i}`)
        expect(onA.status).toBe(200)
        expect(onA.provider).toBe("cb-fb")
      }
      expect(receivedFor(primary, "cb-main-model")).toHaveLength(7)

      // Instance B has never seen a failure itself, yet does not call the dead upstream.
      for (let i = 0; i < 3; i++) {
        const onB = await chat(b, "cb", `on b ${i}`)
        expect(onB.status).toBe(200)
        expect(onB.provider).toBe("cb-fb")
        expect(onB.headers.get("x-apiproxy-attempts")).toBe("1")
      }
      expect(receivedFor(primary, "cb-main-model")).toHaveLength(7)

      // Recovered; after the cooldown B's probe closes the circuit for A as well.
      primary.setDefault(undefined)
      await new Promise((r) => setTimeout(r, 1_100))
      expect((await chat(b, "cb", "probe from b")).provider).toBe("cb-main")
      expect((await chat(a, "cb", "back on a")).provider).toBe("cb-main")
      expect(receivedFor(primary, "cb-main-model")).toHaveLength(9)
    })

    /** Waits for the start of a wall-clock second, so a short burst falls in one QPS bucket. */
    const startOfSecond = async () => {
      const ms = Date.now() % 1000
      if (ms > 50) await new Promise((r) => setTimeout(r, 1000 - ms + 5))
    }
    /** Always waits for the next second to begin. */
    const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5))

    const perSecond = (mock: MockProvider, model: string) => {
      const buckets = new Map<number, number>()
      for (const r of receivedFor(mock, model))
        buckets.set(Math.floor(r.at / 1000), (buckets.get(Math.floor(r.at / 1000)) ?? 0) + 1)
      return [...buckets.values()]
    }

    it("max_qps of a key holds across both instances: the excess fails over", async () => {
      await startOfSecond()
      const burst = await Promise.all(
        Array.from({ length: 10 }, (_, i) => chat(i % 2 === 0 ? a : b, "qps", `burst ${i}`)),
      )
      expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200))
      const served = burst.map((r) => r.provider)
      expect(served.filter((p) => p === "qps-main").length).toBeLessThanOrEqual(2)
      expect(served.filter((p) => p === "qps-main").length).toBeGreaterThanOrEqual(1)
      expect(served.filter((p) => p === "qps-fb").length).toBeGreaterThanOrEqual(8)
      for (const n of perSecond(primary, "qps-model")) expect(n).toBeLessThanOrEqual(2)
      expect(receivedFor(primary, "qps-model").length + receivedFor(backup, "qps-fb-model").length).toBe(10)
    })

    it("max_qps without a fallback: the excess gets 429 with Retry-After, never an upstream call", async () => {
      await startOfSecond()
      const burst = await Promise.all(
        Array.from({ length: 6 }, (_, i) => chat(i % 2 === 0 ? a : b, "qps-solo", `solo ${i}`)),
      )
      const ok = burst.filter((r) => r.status === 200)
      const limited = burst.filter((r) => r.status === 429)
      expect(ok.length + limited.length).toBe(6)
      expect(ok.length).toBeGreaterThanOrEqual(1)
      expect(ok.length).toBeLessThanOrEqual(2)
      for (const r of limited) {
        expect(Number(r.headers.get("retry-after"))).toBe(1)
        expect(JSON.parse(r.text).error.code).toBe("upstream_capacity_exhausted")
      }
      expect(receivedFor(primary, "qps-solo-model")).toHaveLength(ok.length)

      // The next second has room again (the burst may have ended early in its own second).
      await nextSecond()
      expect((await chat(b, "qps-solo", "later")).status).toBe(200)
    })
  },
)
