import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { gatewayApi } from "../../support/GatewayApi.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Budgets in the management API (issue 15 item 3): set and read per key and per user, shown with
 * what the current period used, under the existing privilege model — a superuser sets any budget;
 * a key's owner (a login session) reads their keys' and their own, and may give a key a budget
 * when creating it but not change it afterwards; a non-superuser's API key manages nothing.
 * Hostile amounts are a 400 that says what is accepted.
 */
describe("budgets in the management API (real server)", () => {
  let gateway: TestGateway
  const api = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )
  const admin = (method: string, path: string, body?: unknown) => api.call(method, path, gateway.masterKey, body)
  let bobId: string
  let eveId: string
  let keyId: string
  let bobKey: string
  let bobSession: string

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false" } })
    bobId = await api.createUser("bob")
    eveId = await api.createUser("eve")
    const key = await api.createKey(bobId, "app")
    keyId = key.id
    bobKey = key.token
    const login = await api.call("POST", "/auth/login", "", { username: "bob", password: "bob-password-1234" })
    bobSession = login.body.access_token
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
  })

  const keyBudget = () => `/users/${bobId}/api-keys/${keyId}/budget`

  it("a superuser sets a key's budget; it is shown with the current period's use, and on the key", async () => {
    expect((await admin("GET", keyBudget())).status).toBe(404)
    const set = await admin("PUT", keyBudget(), { amount_usd: "12.50", period: "week" })
    expect(set.status).toBe(200)
    const now = new Date()
    const monday = new Date(
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7)),
    )
    expect(set.body).toEqual({
      budget: "api_key",
      user_id: bobId,
      api_key_id: keyId,
      amount_usd: "12.50",
      period: "week",
      soft: false,
      period_start: monday.toISOString(),
      resets_at: new Date(monday.getTime() + 7 * 86_400_000).toISOString(),
      used_usd: "0.00",
      remaining_usd: "12.50",
      exceeded: false,
    })
    expect((await admin("GET", keyBudget())).body).toEqual(set.body)
    expect((await admin("GET", `/users/${bobId}/api-keys/${keyId}`)).body.budget).toEqual({
      amount_usd: "12.50",
      period: "week",
      soft: false,
    })
    expect((await admin("GET", `/users/${bobId}/api-keys`)).body[0].budget).toEqual({
      amount_usd: "12.50",
      period: "week",
      soft: false,
    })
    // Through the key's own update too, a number as the amount.
    const updated = await admin("PUT", `/users/${bobId}/api-keys/${keyId}`, {
      budget: { amount_usd: 19.99, period: "month", soft: true },
    })
    expect([updated.status, updated.body.budget]).toEqual([200, { amount_usd: "19.99", period: "month", soft: true }])
  })

  it("a superuser sets a user's budget; the user sees it, in /auth/me too", async () => {
    expect((await admin("GET", `/users/${bobId}/budget`)).status).toBe(404)
    const set = await admin("PUT", `/users/${bobId}/budget`, { amount_usd: "100", period: "month" })
    expect(set.status).toBe(200)
    expect(set.body).toMatchObject({
      budget: "user",
      user_id: bobId,
      api_key_id: null,
      amount_usd: "100.00",
      period: "month",
      used_usd: "0.00",
      remaining_usd: "100.00",
    })
    expect((await api.call("GET", `/users/${bobId}/budget`, bobSession)).body).toEqual(set.body)
    expect((await api.call("GET", "/auth/me", bobSession)).body.budget).toEqual({
      amount_usd: "100.00",
      period: "month",
      soft: false,
    })
    expect((await admin("GET", `/users/${bobId}`)).body.budget).toEqual({
      amount_usd: "100.00",
      period: "month",
      soft: false,
    })
    expect((await admin("GET", `/users/${eveId}`)).body.budget).toBeNull()
  })

  it("the owner's session reads its key's budget but cannot change it or its user's; others see nothing", async () => {
    expect((await api.call("GET", keyBudget(), bobSession)).status).toBe(200)
    for (const [method, path, body] of [
      ["PUT", keyBudget(), { amount_usd: "1000", period: "month" }],
      ["DELETE", keyBudget(), undefined],
      ["PUT", `/users/${bobId}/budget`, { amount_usd: "1000", period: "month" }],
      ["DELETE", `/users/${bobId}/budget`, undefined],
      ["PUT", `/users/${bobId}/api-keys/${keyId}`, { budget: null }],
      ["PUT", `/users/${bobId}/api-keys/${keyId}`, { budget: { amount_usd: "1000", period: "total" } }],
    ] as const) {
      const answer = await api.call(method, path, bobSession, body)
      expect([method, path, answer.status, answer.body._tag]).toEqual([method, path, 403, "Forbidden"])
    }
    expect(
      (await api.call("PUT", `/users/${bobId}/api-keys/${keyId}`, bobSession, { budget: null })).body.details,
    ).toEqual({ fields: ["budget"] })
    // Another user's budgets are not theirs to read.
    expect((await api.call("GET", `/users/${eveId}/budget`, bobSession)).status).toBe(403)
    // A non-superuser's API key is for the data plane: no budget route answers it.
    for (const path of [keyBudget(), `/users/${bobId}/budget`])
      expect((await api.call("GET", path, bobKey)).status).toBe(403)
    // Nothing changed.
    expect((await admin("GET", keyBudget())).body).toMatchObject({ amount_usd: "19.99", period: "month", soft: true })
    expect((await admin("GET", `/users/${bobId}/budget`)).body).toMatchObject({ amount_usd: "100.00" })
  })

  it("the owner may give a new key of their own a budget", async () => {
    const created = await api.call("POST", `/users/${bobId}/api-keys`, bobSession, {
      name: "capped",
      budget: { amount_usd: "5", period: "day" },
    })
    expect([created.status, created.body.budget]).toEqual([201, { amount_usd: "5.00", period: "day", soft: false }])
    expect(
      (await api.call("GET", `/users/${bobId}/api-keys/${created.body.id}/budget`, bobSession)).body,
    ).toMatchObject({ amount_usd: "5.00", remaining_usd: "5.00" })
  })

  it("hostile amounts and settings are a 400 naming the field; nothing is stored", async () => {
    const before = (await admin("GET", keyBudget())).body
    const hostile: Array<unknown> = [
      { amount_usd: "-1", period: "day" },
      { amount_usd: -0.01, period: "day" },
      { amount_usd: "NaN", period: "day" },
      { amount_usd: "Infinity", period: "day" },
      { amount_usd: "1e3", period: "day" },
      { amount_usd: 1e300, period: "day" },
      { amount_usd: "1000000.01", period: "day" },
      { amount_usd: "99999999999999999999999", period: "day" },
      { amount_usd: "0.0000000001", period: "day" },
      { amount_usd: 0.1234567891, period: "day" },
      { amount_usd: "1".repeat(10_000), period: "day" },
      { amount_usd: "", period: "day" },
      { amount_usd: " 5", period: "day" },
      { amount_usd: null, period: "day" },
      { amount_usd: true, period: "day" },
      { amount_usd: { usd: 5 }, period: "day" },
      { period: "day" },
      { amount_usd: "5", period: "fortnight" },
      { amount_usd: "5" },
      { amount_usd: "5", period: "day", soft: "yes" },
    ]
    for (const body of hostile) {
      const answer = await admin("PUT", keyBudget(), body)
      expect([JSON.stringify(body).slice(0, 80), answer.status, answer.body._tag]).toEqual([
        JSON.stringify(body).slice(0, 80),
        400,
        "BadRequest",
      ])
      expect(answer.text.length).toBeLessThan(2_000)
    }
    const amount = await admin("PUT", keyBudget(), { amount_usd: "-1", period: "day" })
    expect(amount.body.message).toBe(
      'amount_usd: expected an amount in USD from 0 to 1000000 with at most 9 decimals, as a string ("12.50") or a number',
    )
    expect((await admin("PUT", `/users/${bobId}/budget`, { amount_usd: 1e-10, period: "day" })).body.message).toContain(
      "amount_usd: expected an amount in USD",
    )
    expect(
      (await admin("POST", `/users/${bobId}/api-keys`, { name: "bad", budget: { amount_usd: "-5", period: "day" } }))
        .status,
    ).toBe(400)
    expect((await admin("GET", keyBudget())).body).toEqual(before)
    // The largest amount and the finest are fine.
    expect((await admin("PUT", keyBudget(), { amount_usd: "1000000", period: "total" })).body.amount_usd).toBe(
      "1000000.00",
    )
    expect((await admin("PUT", keyBudget(), { amount_usd: "0.000000001", period: "total" })).body.amount_usd).toBe(
      "0.000000001",
    )
  })

  it("a budget is removed with DELETE; unknown keys and users are 404", async () => {
    expect((await admin("DELETE", keyBudget())).status).toBe(204)
    expect((await admin("GET", keyBudget())).status).toBe(404)
    expect((await admin("GET", `/users/${bobId}/api-keys/${keyId}`)).body.budget).toBeNull()
    expect((await admin("DELETE", `/users/${bobId}/budget`)).status).toBe(204)
    expect((await admin("GET", `/users/${bobId}/budget`)).status).toBe(404)
    const missing = "00000000-0000-0000-0000-000000000000"
    expect((await admin("PUT", `/users/${missing}/budget`, { amount_usd: "1", period: "day" })).status).toBe(404)
    expect(
      (await admin("PUT", `/users/${bobId}/api-keys/${missing}/budget`, { amount_usd: "1", period: "day" })).status,
    ).toBe(404)
    expect((await admin("GET", `/users/not-a-uuid/budget`)).status).toBe(404)
  })

  it("the budget routes are in /openapi.json", async () => {
    const spec = (await admin("GET", "/openapi.json")).body
    expect(Object.keys(spec.paths["/users/{user_id}/budget"]).sort()).toEqual(["delete", "get", "put"])
    expect(Object.keys(spec.paths["/users/{user_id}/api-keys/{key_id}/budget"]).sort()).toEqual([
      "delete",
      "get",
      "put",
    ])
  })
})
