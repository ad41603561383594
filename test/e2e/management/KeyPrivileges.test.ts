import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Issue 11, item 4: an API key is for the data plane. A key an administrator restricted cannot
 * lift its restrictions, mint keys or take its owner's account over; the owner's login session
 * may only rename, deactivate or delete keys; changing a password or email needs the current
 * password and ends the account's other sessions. Superuser API keys and the master key keep
 * administering (automation).
 */
describe("API keys cannot manage accounts or widen themselves (real server)", () => {
  let gateway: TestGateway
  let upstream: MockProvider
  let bobId: string
  let keyId: string
  let appKey: string

  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
  }
  const login = async (username: string, password: string) => {
    const r = await call("POST", "/auth/login", undefined, { username, password })
    expect(r.status).toBe(200)
    return r.body as { access_token: string; refresh_token: string }
  }

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false", LOGIN_MAX_FAILURES: "5" } })
    const m = gateway.masterKey
    for (const id of ["mock", "other"]) {
      const p = await call("POST", "/providers", m, {
        id,
        base_url: upstream.url,
        models: ["gpt-4o-mini"],
        keys: [{ key: "sk-provider-0123456789abcdef" }],
      })
      expect(p.status).toBe(201)
    }
    const bob = await call("POST", "/users", m, {
      username: "bob",
      email: "bob@example.com",
      password: "bob-password-1",
    })
    bobId = bob.body.id
    // An administrator gives bob a key for one provider, 5 rpm, a week.
    const key = await call("POST", `/users/${bobId}/api-keys`, m, {
      name: "app",
      expiry: "week",
      allowed_provider_ids: ["mock"],
      requests_per_minute: 5,
      tokens_per_minute: 1000,
    })
    expect(key.status).toBe(201)
    keyId = key.body.id
    appKey = key.body.token
  })

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  it("a restricted key gets 403 on every account and key management route, and stays as it was", async () => {
    const attempts: Array<[string, string, unknown?]> = [
      [
        "PUT",
        `/users/${bobId}/api-keys/${keyId}`,
        { allowed_provider_ids: null, requests_per_minute: null, tokens_per_minute: null, expiry: "never" },
      ],
      ["PUT", `/users/${bobId}/api-keys/${keyId}/allowed-providers`, { allowed_provider_ids: null }],
      ["DELETE", `/users/${bobId}/api-keys/${keyId}/allowed-providers/mock`],
      ["POST", `/users/${bobId}/api-keys`, { name: "escape", expiry: "never" }],
      ["GET", `/users/${bobId}/api-keys`],
      ["GET", `/users/${bobId}/api-keys/${keyId}`],
      ["DELETE", `/users/${bobId}/api-keys/${keyId}`],
      ["PUT", `/users/${bobId}`, { password: "mallory-owns-this-1", email: "mallory@example.com" }],
      ["PUT", `/users/${bobId}`, { display_name: "pwned" }],
      ["GET", `/users/${bobId}`],
    ]
    for (const [method, path, body] of attempts) {
      const r = await call(method, path, appKey, body)
      expect([method, path, r.status, r.body?._tag]).toEqual([method, path, 403, "Forbidden"])
    }
    expect((await call("PUT", `/users/${bobId}`, appKey, { display_name: "x" })).body.message).toContain(
      "login session",
    )
    // Read-only routes still answer the key.
    expect((await call("GET", "/auth/me", appKey)).body.id).toBe(bobId)
    expect((await call("GET", "/usage", appKey)).status).toBe(200)
    // Nothing changed: the key is as the administrator left it; the password still works.
    const key = await call("GET", `/users/${bobId}/api-keys/${keyId}`, gateway.masterKey)
    expect(key.body).toMatchObject({
      allowed_provider_ids: ["mock"],
      requests_per_minute: 5,
      tokens_per_minute: 1000,
      expiry_type: "week",
      is_active: true,
    })
    expect((await call("GET", `/users/${bobId}/api-keys`, gateway.masterKey)).body).toHaveLength(1)
    await login("bob", "bob-password-1")
    expect((await call("GET", `/users/${bobId}`, gateway.masterKey)).body).toMatchObject({
      email: "bob@example.com",
      display_name: null,
    })
  })

  it("the owner's session may rename, deactivate and delete a key, not lift its limits, extend it or reactivate it", async () => {
    const { access_token: bob } = await login("bob", "bob-password-1")
    for (const body of [
      { requests_per_minute: null },
      { tokens_per_minute: 100000 },
      { allowed_provider_ids: null },
      { allowed_provider_ids: ["mock", "other"] },
      { expiry: "never" },
      { name: "renamed", expiry: "year" },
    ]) {
      const r = await call("PUT", `/users/${bobId}/api-keys/${keyId}`, bob, body)
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 403])
    }
    expect(
      (await call("PUT", `/users/${bobId}/api-keys/${keyId}/allowed-providers`, bob, { allowed_provider_ids: null }))
        .status,
    ).toBe(403)
    expect((await call("DELETE", `/users/${bobId}/api-keys/${keyId}/allowed-providers/mock`, bob)).status).toBe(403)

    const renamed = await call("PUT", `/users/${bobId}/api-keys/${keyId}`, bob, { name: "renamed" })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({
      name: "renamed",
      allowed_provider_ids: ["mock"],
      requests_per_minute: 5,
      expiry_type: "week",
    })
    expect((await call("PUT", `/users/${bobId}/api-keys/${keyId}`, bob, { is_active: false })).body.is_active).toBe(
      false,
    )
    expect((await call("GET", "/v1/models", appKey)).status).toBe(401)
    expect((await call("PUT", `/users/${bobId}/api-keys/${keyId}`, bob, { is_active: true })).status).toBe(403)
    // A superuser reactivates it.
    expect(
      (await call("PUT", `/users/${bobId}/api-keys/${keyId}`, gateway.masterKey, { is_active: true })).body.is_active,
    ).toBe(true)
    expect((await call("GET", "/v1/models", appKey)).status).toBe(200)

    // The owner's session creates and deletes keys of its own.
    const own = await call("POST", `/users/${bobId}/api-keys`, bob, { name: "own", allowed_provider_ids: ["mock"] })
    expect(own.status).toBe(201)
    expect((await call("DELETE", `/users/${bobId}/api-keys/${own.body.id}`, bob)).status).toBe(204)
  })

  it("a session changing its own password or email needs the current password, and ends every session of the account", async () => {
    const first = await login("bob", "bob-password-1")
    const second = await login("bob", "bob-password-1")
    const missing = await call("PUT", `/users/${bobId}`, first.access_token, { password: "bob-password-2" })
    expect([missing.status, missing.body._tag]).toEqual([400, "BadRequest"])
    expect(missing.body.message).toContain("current_password")
    const wrong = await call("PUT", `/users/${bobId}`, first.access_token, {
      email: "bob2@example.com",
      current_password: "not-it-at-all",
    })
    expect([wrong.status, wrong.body._tag]).toEqual([403, "Forbidden"])
    // Neither changed anything.
    expect((await call("GET", "/auth/me", second.access_token)).body.email).toBe("bob@example.com")

    const changed = await call("PUT", `/users/${bobId}`, first.access_token, {
      password: "bob-password-2",
      current_password: "bob-password-1",
    })
    expect(changed.status).toBe(200)
    for (const token of [first.access_token, second.access_token])
      expect((await call("GET", "/auth/me", token)).status).toBe(401)
    expect((await call("POST", "/auth/refresh", undefined, { refresh_token: second.refresh_token })).status).toBe(401)
    expect((await call("POST", "/auth/login", undefined, { username: "bob", password: "bob-password-1" })).status).toBe(
      401,
    )

    const third = await login("bob", "bob-password-2")
    const email = await call("PUT", `/users/${bobId}`, third.access_token, {
      email: "bob2@example.com",
      current_password: "bob-password-2",
    })
    expect([email.status, email.body.email]).toEqual([200, "bob2@example.com"])
    expect((await call("GET", "/auth/me", third.access_token)).status).toBe(401)
    // Profile fields need no password.
    const fourth = await login("bob", "bob-password-2")
    expect((await call("PUT", `/users/${bobId}`, fourth.access_token, { display_name: "Bob" })).status).toBe(200)
    // The data-plane key was never a session: it keeps working.
    expect((await call("GET", "/v1/models", appKey)).status).toBe(200)
  })

  it("guessing the current password with a stolen session is throttled like logins (LOGIN_MAX_FAILURES)", async () => {
    const carol = await call("POST", "/users", gateway.masterKey, {
      username: "carol",
      email: "carol@example.com",
      password: "carol-password-1",
    })
    const session = await login("carol", "carol-password-1")
    const guesses: Array<number> = []
    for (let i = 0; i < 6; i++) {
      const r = await call("PUT", `/users/${carol.body.id}`, session.access_token, {
        email: "mallory@example.com",
        current_password: `guess-${i}`,
      })
      guesses.push(r.status)
    }
    expect(guesses).toEqual([403, 403, 403, 403, 403, 429])
    // Even the right password waits now; nothing was changed.
    expect(
      (
        await call("PUT", `/users/${carol.body.id}`, session.access_token, {
          email: "mallory@example.com",
          current_password: "carol-password-1",
        })
      ).status,
    ).toBe(429)
    expect((await call("GET", "/auth/me", session.access_token)).body.email).toBe("carol@example.com")
  })

  it("superuser API keys and the master key keep administering keys and accounts", async () => {
    const root = await call("POST", "/users", gateway.masterKey, {
      username: "root",
      email: "root@example.com",
      password: "root-password-1",
      is_superuser: true,
    })
    const rootKey = (await call("POST", `/users/${root.body.id}/api-keys`, gateway.masterKey, { name: "automation" }))
      .body.token
    const lifted = await call("PUT", `/users/${bobId}/api-keys/${keyId}`, rootKey, {
      requests_per_minute: null,
      allowed_provider_ids: ["mock", "other"],
      expiry: "month",
    })
    expect(lifted.status).toBe(200)
    expect(lifted.body).toMatchObject({
      requests_per_minute: null,
      allowed_provider_ids: ["mock", "other"],
      expiry_type: "month",
    })
    expect((await call("PUT", `/users/${bobId}`, rootKey, { password: "bob-password-3" })).status).toBe(200)
    expect((await call("POST", `/users/${root.body.id}/api-keys`, rootKey, { name: "second" })).status).toBe(201)
    expect((await call("GET", "/users", gateway.masterKey)).status).toBe(200)
  })
})
