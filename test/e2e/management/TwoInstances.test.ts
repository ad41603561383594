import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"
import { createStorage, type SharedStorage, startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Two gateways on one database and one KV namespace, as behind a load balancer. Needs a
 * Postgres server and Redis (DATABASE_URL, REDIS_URL): embedded PGlite serves a single process,
 * and two in-memory KV stores share nothing. The same behaviour is
 * covered on both backends, without HTTP, by test/integration/identity/Identity.test.ts.
 */
describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL)(
  "management across two instances (DATABASE_URL, REDIS_URL)",
  () => {
    let storage: SharedStorage
    let a: TestGateway
    let b: TestGateway
    let upstream: MockProvider

    const json = async (gateway: TestGateway, method: string, path: string, token: string, body?: unknown) => {
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
    }

    beforeAll(async () => {
      upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
      storage = await createStorage()
      a = await startTestGateway({ storage, env: { BOOTSTRAP_ADMIN: "false" } })
      b = await startTestGateway({ storage, env: { BOOTSTRAP_ADMIN: "false" } })
    })

    afterAll(async () => {
      await a?.close()
      await b?.close()
      await storage?.close()
      await upstream?.close()
    })

    it("a provider added on A routes on B; a key revoked on A is refused by B on the next request; limits are shared", async () => {
      const created = await json(a, "POST", "/providers", a.masterKey, {
        id: "mock",
        base_url: upstream.url,
        models: ["gpt-4o-mini"],
        keys: [{ key: "sk-two-instances-0123456789abcdef" }],
      })
      expect(created.status).toBe(201)
      const user = await json(a, "POST", "/users", a.masterKey, {
        username: "carol",
        email: "carol@example.com",
        password: "carol-password",
      })
      const key = await json(a, "POST", `/users/${user.body.id}/api-keys`, a.masterKey, {
        name: "app",
        requests_per_minute: 3,
      })
      const token = key.body.token as string

      const window = Math.floor(Date.now() / 60_000)
      // B learned about the provider through the registry invalidation (a model list: not counted).
      expect((await json(b, "GET", "/v1/models", token)).body.data.map((m: any) => m.id)).toContain("gpt-4o-mini")
      // Requests alternate between the instances; the limit counts them together.
      const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }
      const statuses: Array<number> = []
      for (const gateway of [a, b, a, b])
        statuses.push((await json(gateway, "POST", "/v1/chat/completions", token, chat)).status)
      // (Unless the minute rolled over mid-way, which restarts the count.)
      if (Math.floor(Date.now() / 60_000) === window) expect(statuses).toEqual([200, 200, 200, 429])
      await json(a, "PUT", `/users/${user.body.id}/api-keys/${key.body.id}`, a.masterKey, { requests_per_minute: null })
      expect((await json(b, "GET", "/v1/models", token)).status).toBe(200)

      // B has the key cached; A deletes it; B's very next request is refused.
      expect((await json(a, "DELETE", `/users/${user.body.id}/api-keys/${key.body.id}`, a.masterKey)).status).toBe(204)
      expect((await json(b, "GET", "/v1/models", token)).status).toBe(401)
    })
  },
)
