import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"
import { gatewayApi } from "../../support/GatewayApi.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * An API key's exact expiry (`expires_at`, beside the `expiry` lifetimes): set at creation or
 * changed later, refused when in the past, too far ahead or given with `expiry`, a superuser's to
 * change on an existing key, and enforced on the data plane once passed.
 */
describe("API key expires_at (real server)", () => {
  let gateway: TestGateway
  let upstream: MockProvider
  const api = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )
  let userId: string
  const chat = (token: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    })

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false" } })
    const provider = await api.call("POST", "/providers", gateway.masterKey, {
      id: "mock",
      base_url: upstream.url,
      models: ["gpt-4o-mini"],
      keys: [{ key: "sk-provider-0123456789abcdef" }],
    })
    expect(provider.status).toBe(201)
    userId = await api.createUser("dora")
  })

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  it("a key created with an exact time keeps it, shows expiry_type date, and works until then", async () => {
    const at = new Date(Date.now() + 3 * 86_400_000)
    at.setUTCMilliseconds(0)
    const created = await api.call("POST", `/users/${userId}/api-keys`, gateway.masterKey, {
      name: "dated",
      expires_at: at.toISOString(),
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ expiry_type: "date", expires_at: at.toISOString() })
    expect((await chat(created.body.token)).status).toBe(200)
    // A time with an offset (+02:00) is the instant it names.
    const later = new Date(at.getTime() + 86_400_000)
    const offset = new Date(later.getTime() + 2 * 3_600_000).toISOString().replace("Z", "+02:00")
    const moved = await api.call("PUT", `/users/${userId}/api-keys/${created.body.id}`, gateway.masterKey, {
      expires_at: offset,
    })
    expect(moved.status).toBe(200)
    expect(moved.body).toMatchObject({ expiry_type: "date", expires_at: later.toISOString() })
    // Back to a lifetime.
    const lifetime = await api.call("PUT", `/users/${userId}/api-keys/${created.body.id}`, gateway.masterKey, {
      expiry: "never",
    })
    expect(lifetime.body).toMatchObject({ expiry_type: "never", expires_at: null })
  })

  it("refuses a past time, one over 100 years ahead, a malformed one, and expiry with expires_at", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: "past", expires_at: new Date(Date.now() - 60_000).toISOString() }, /in the future/],
      [{ name: "far", expires_at: "2999-01-01T00:00:00Z" }, /at most 36500 days/],
      [{ name: "bad", expires_at: "next tuesday" }, /expires_at/],
      [{ name: "both", expiry: "week", expires_at: new Date(Date.now() + 86_400_000).toISOString() }, /not both/],
    ]
    for (const [body, message] of cases) {
      const refused = await api.call("POST", `/users/${userId}/api-keys`, gateway.masterKey, body)
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect(refused.text).toMatch(message)
    }
    const keys = await api.call("GET", `/users/${userId}/api-keys`, gateway.masterKey)
    expect(keys.body.map((key: { name: string }) => key.name)).not.toContain("past")
  })

  it("an owner may set it at creation but not change it afterwards", async () => {
    const login = await api.call("POST", "/auth/login", "", { username: "dora", password: "dora-password-1234" })
    const session = login.body.access_token as string
    const own = await api.call("POST", `/users/${userId}/api-keys`, session, {
      name: "own",
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    })
    expect(own.status).toBe(201)
    const widen = await api.call("PUT", `/users/${userId}/api-keys/${own.body.id}`, session, {
      expires_at: new Date(Date.now() + 50 * 86_400_000).toISOString(),
    })
    expect(widen.status).toBe(403)
    expect(widen.body.details).toEqual({ fields: ["expires_at"] })
  })

  it("a key whose time has passed is refused on the data plane", async () => {
    const created = await api.call("POST", `/users/${userId}/api-keys`, gateway.masterKey, {
      name: "short",
      expires_at: new Date(Date.now() + 1500).toISOString(),
    })
    expect(created.status).toBe(201)
    expect((await chat(created.body.token)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1600))
    expect((await chat(created.body.token)).status).toBe(401)
  })
})
