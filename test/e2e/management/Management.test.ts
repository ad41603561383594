import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * The management API end to end, on the real server: from an empty database to an application
 * key calling /v1/chat/completions, using HTTP calls only — and, at the end, a search of every
 * management response and every log line for each secret the scenario created.
 */

const PROVIDER_KEY = "sk-provider-secret-0123456789abcdefWXYZ"
const SECOND_PROVIDER_KEY = "sk-provider-second-9876543210fedcbaQRST"
const BOB_PASSWORD = "bob-password-1234"
const BOB_NEW_PASSWORD = "bob-new-password-5678"

interface Exchange {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly body: any
  readonly text: string
  readonly headers: Headers
}

describe("management API (real server)", () => {
  let gateway: TestGateway
  let upstream: MockProvider
  /** Secrets this scenario created: none may appear outside the one response that returns it. */
  const secrets = new Set<string>([PROVIDER_KEY, SECOND_PROVIDER_KEY, BOB_PASSWORD, BOB_NEW_PASSWORD])
  /** Every management response except the ones whose purpose is to hand out a secret once. */
  const scanned: Array<Exchange> = []

  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string>; oneTimeSecret?: boolean } = {},
  ): Promise<Exchange> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    })
    const text = await response.text()
    let body: any
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = text
    }
    const exchange = { method, path, status: response.status, body, text, headers: response.headers }
    if (!options.oneTimeSecret) scanned.push(exchange)
    return exchange
  }

  const chat = (token: string) =>
    call("POST", "/v1/chat/completions", {
      token,
      body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
    })

  // State built up by the scenario, in order.
  let adminId: string
  let adminPassword: string
  let adminKey: string
  let access: string
  let refresh: string
  let bobId: string
  let bobAccess: string
  let appKeyId: string
  let appKey: string

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false" } })
  })

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  it("admin/init: with a master key configured, only its holder may call it", async () => {
    const anonymous = await call("POST", "/system/admin/init", { body: {} })
    expect(anonymous.status).toBe(401)
    const wrong = await call("POST", "/system/admin/init", { body: {}, token: "apx-not-the-master-key" })
    expect(wrong.status).toBe(401)
  })

  it("admin/init: of concurrent calls on an empty database exactly one succeeds", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call("POST", "/system/admin/init", { body: {}, token: gateway.masterKey, oneTimeSecret: true }),
      ),
    )
    const created = results.filter((r) => r.status === 201)
    expect(created).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(4)
    expect(results.find((r) => r.status === 409)!.body).toMatchObject({
      _tag: "Conflict",
      message: "System already has users",
    })
    adminId = created[0]!.body.user_id
    adminPassword = created[0]!.body.password
    adminKey = created[0]!.body.api_key
    secrets.add(adminPassword).add(adminKey)
    expect(created[0]!.body.username).toBe("admin")
  })

  it("self-service registration is off unless ALLOW_REGISTRATION is set: 403, and no account is made", async () => {
    const register = await call("POST", "/auth/register", {
      body: { username: "mallory", email: "mallory@example.com", password: "mallory-password-1" },
    })
    expect(register.status).toBe(403)
    expect(register.body).toMatchObject({
      _tag: "Forbidden",
      message: expect.stringContaining("registration is disabled"),
    })
    const login = await call("POST", "/auth/login", { body: { username: "mallory", password: "mallory-password-1" } })
    expect(login.status).toBe(401)
  })

  it("login gives a 30-minute access token and a refresh token; /auth/me answers", async () => {
    const login = await call("POST", "/auth/login", {
      body: { username: "admin", password: adminPassword },
      oneTimeSecret: true,
    })
    expect(login.status).toBe(200)
    expect(login.body).toMatchObject({ token_type: "bearer", expires_in: 1800, refresh_expires_in: 604800 })
    access = login.body.access_token
    refresh = login.body.refresh_token
    secrets.add(access).add(refresh)
    const me = await call("GET", "/auth/me", { token: access })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ id: adminId, username: "admin", is_superuser: true, is_active: true })
    expect(me.body).not.toHaveProperty("hashed_password")
    // The bootstrap API key authenticates management calls too.
    expect((await call("GET", "/auth/me", { token: adminKey })).body.id).toBe(adminId)
    const wrong = await call("POST", "/auth/login", { body: { username: "admin", password: "wrong-password" } })
    expect([wrong.status, wrong.body.message]).toEqual([401, "Invalid username or password"])
  })

  it("auth edge cases: missing, malformed, unknown credentials and a refresh token used as access token", async () => {
    expect((await call("GET", "/auth/me")).status).toBe(401)
    expect((await call("GET", "/auth/me", { headers: { authorization: "Basic abc" } })).status).toBe(401)
    expect((await call("GET", "/auth/me", { headers: { authorization: "Bearer" } })).status).toBe(401)
    expect((await call("GET", "/auth/me", { token: "apx-unknown-000000000000000000000000" })).status).toBe(401)
    expect((await call("GET", "/auth/me", { token: "aaa.bbb.ccc" })).status).toBe(401)
    const confused = await call("GET", "/users", { token: refresh })
    expect(confused.status).toBe(401)
    expect(confused.body).toMatchObject({ _tag: "Unauthorized" })
  })

  it("secret-key/generate is for superusers and returns a fresh secret with a hint", async () => {
    const generated = await call("POST", "/system/secret-key/generate", {
      token: access,
      body: { length: 48 },
      oneTimeSecret: true,
    })
    expect(generated.status).toBe(200)
    expect(generated.body.secret_key).toMatch(/^[A-Za-z0-9_-]{64}$/)
    expect(generated.body.hint).toContain("SECRET_KEY")
    secrets.add(generated.body.secret_key)
    expect((await call("POST", "/system/secret-key/generate", { body: {} })).status).toBe(401)
    expect((await call("POST", "/system/secret-key/generate", { token: access, body: { length: 8 } })).status).toBe(400)
  })

  it("providers: create with a key, read, patch, keys CRUD, models — never any key material", async () => {
    const created = await call("POST", "/providers", {
      token: access,
      body: {
        id: "mock",
        base_url: upstream.url,
        custom_headers: { "X-Org": "acme", "X-Extra-Api-Key": "header-secret-value-123" },
        models: ["gpt-4o-mini"],
        keys: [{ key: PROVIDER_KEY, label: "main" }],
      },
    })
    secrets.add("header-secret-value-123")
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: "mock", protocol: "openai", enabled: true, models: ["gpt-4o-mini"] })
    // Every header value is masked: names only, with the last four characters of long values.
    expect(created.body.custom_headers).toEqual({ "X-Org": "…", "X-Extra-Api-Key": "…-123" })
    expect(created.body.keys).toEqual([
      expect.objectContaining({ label: "main", masked_key: `…${PROVIDER_KEY.slice(-4)}` }),
    ])
    expect(
      (await call("POST", "/providers", { token: access, body: { id: "mock", base_url: upstream.url } })).status,
    ).toBe(409)
    expect(
      (await call("POST", "/providers", { token: access, body: { id: "Bad Id", base_url: upstream.url } })).status,
    ).toBe(400)

    expect((await call("GET", "/providers", { token: access })).body.map((p: any) => p.id)).toEqual(["mock"])
    const patched = await call("PATCH", "/providers/mock", {
      token: access,
      // Headers copied back from a GET keep the masked value as stored.
      body: { weight: 2, custom_headers: { "X-Org": "…", "X-Extra-Api-Key": "…-123" } },
    })
    expect(patched.status).toBe(200)
    expect(patched.body.weight).toBe(2)
    expect((await call("GET", "/providers/nope", { token: access })).status).toBe(404)

    const second = await call("POST", "/providers/mock/keys", {
      token: access,
      body: { key: SECOND_PROVIDER_KEY, label: "second" },
    })
    expect(second.status).toBe(201)
    expect(second.body.masked_key).toBe(`…${SECOND_PROVIDER_KEY.slice(-4)}`)
    expect(
      (
        await call("POST", "/providers/mock/keys", {
          token: access,
          body: { key: "sk-x-0000000000000000", label: "second" },
        })
      ).status,
    ).toBe(409)
    const disabled = await call("PATCH", `/providers/mock/keys/${second.body.id}`, {
      token: access,
      body: { status: "disabled", weight: 3 },
    })
    expect(disabled.body).toMatchObject({ status: "disabled", weight: 3 })
    expect((await call("GET", "/providers/mock/keys", { token: access })).body).toHaveLength(2)
    expect((await call("DELETE", `/providers/mock/keys/${second.body.id}`, { token: access })).status).toBe(204)
    expect((await call("DELETE", `/providers/mock/keys/${second.body.id}`, { token: access })).status).toBe(404)

    const models = await call("PUT", "/providers/mock/models", {
      token: access,
      body: { models: ["gpt-4o-mini"], aliases: { mini: "gpt-4o-mini" } },
    })
    expect(models.body).toMatchObject({ models: ["gpt-4o-mini"], aliases: { mini: "gpt-4o-mini" } })
    // The data plane sees the change at once (the registry reloaded).
    const listed = await call("GET", "/v1/models", { token: gateway.masterKey })
    expect(listed.body.data.map((m: any) => m.id)).toContain("gpt-4o-mini")
  })

  it("users: only superusers create users or change status; a user edits only itself (W17)", async () => {
    const bob = await call("POST", "/users", {
      token: access,
      body: { username: "bob", email: "bob@example.com", password: BOB_PASSWORD },
    })
    expect(bob.status).toBe(201)
    expect(bob.body).toMatchObject({ username: "bob", is_superuser: false, is_active: true })
    bobId = bob.body.id
    expect(
      (
        await call("POST", "/users", {
          token: access,
          body: { username: "bob", email: "b2@example.com", password: BOB_PASSWORD },
        })
      ).status,
    ).toBe(409)
    const login = await call("POST", "/auth/login", {
      body: { username: "bob", password: BOB_PASSWORD },
      oneTimeSecret: true,
    })
    bobAccess = login.body.access_token
    secrets.add(bobAccess).add(login.body.refresh_token)

    const forbidden = await call("POST", "/users", {
      token: bobAccess,
      body: { username: "eve", email: "eve@example.com", password: "eve-password-1" },
    })
    expect(forbidden.status).toBe(403)
    expect((await call("PUT", `/users/${adminId}`, { token: bobAccess, body: { display_name: "pwned" } })).status).toBe(
      403,
    )
    expect((await call("PUT", `/users/${bobId}/status`, { token: bobAccess, body: { is_active: false } })).status).toBe(
      403,
    )
    expect((await call("GET", "/providers", { token: bobAccess })).status).toBe(403)
    const own = await call("PUT", `/users/${bobId}`, { token: bobAccess, body: { display_name: "Bob" } })
    expect(own.body.display_name).toBe("Bob")
    expect((await call("PUT", `/users/${bobId}`, { token: bobAccess, body: {} })).status).toBe(400)
  })

  it("API keys: created once, listed by prefix, and an application calls /v1/chat/completions", async () => {
    const created = await call("POST", `/users/${bobId}/api-keys`, {
      token: bobAccess,
      body: { name: "app", expiry: "month", allowed_provider_ids: ["mock"] },
      oneTimeSecret: true,
    })
    expect(created.status).toBe(201)
    appKey = created.body.token
    appKeyId = created.body.id
    secrets.add(appKey)
    expect(created.body).toMatchObject({
      name: "app",
      expiry_type: "month",
      has_provider_restrictions: true,
      allowed_provider_ids: ["mock"],
    })
    const expires = new Date(created.body.expires_at).getTime() - new Date(created.body.created_at).getTime()
    expect(Math.abs(expires - 30 * 24 * 3600 * 1000)).toBeLessThan(5_000)
    expect(created.body.key_prefix).toBe(appKey.slice(0, 12))

    const list = await call("GET", `/users/${bobId}/api-keys`, { token: bobAccess })
    expect(list.body).toHaveLength(1)
    expect(list.body[0]).not.toHaveProperty("token")
    expect((await call("GET", `/users/${adminId}/api-keys`, { token: bobAccess })).status).toBe(403)
    expect(
      (
        await call("POST", `/users/${bobId}/api-keys`, {
          token: bobAccess,
          body: { name: "x", allowed_provider_ids: ["nope"] },
        })
      ).body,
    ).toMatchObject({
      _tag: "BadRequest",
      details: { missing_provider_ids: ["nope"] },
    })

    const completion = await chat(appKey)
    expect(completion.status).toBe(200)
    expect(completion.body.choices[0].message.content).toBe("Hello from mock: hi")
    // The provider got its own key, never the client's.
    expect(upstream.received.at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`)
    // A non-superuser's API key does not open management endpoints.
    expect((await call("GET", "/providers", { token: appKey })).status).toBe(403)
    // A superuser's API key and the master key do.
    expect((await call("GET", "/providers", { token: adminKey })).status).toBe(200)
    expect((await call("GET", "/providers", { token: gateway.masterKey })).status).toBe(200)
  })

  it("an allow-list emptied by removal means no provider: 403 with details, and an empty /v1/models", async () => {
    // The allow-list is an administrator's to change, not the key owner's (issue 11, item 4).
    expect(
      (await call("DELETE", `/users/${bobId}/api-keys/${appKeyId}/allowed-providers/mock`, { token: bobAccess }))
        .status,
    ).toBe(403)
    const removed = await call("DELETE", `/users/${bobId}/api-keys/${appKeyId}/allowed-providers/mock`, {
      token: access,
    })
    expect(removed.body).toEqual({ has_provider_restrictions: true, allowed_provider_ids: [] })
    const refused = await chat(appKey)
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe("provider_not_allowed")
    expect((await call("GET", "/v1/models", { token: appKey })).body.data).toEqual([])
    const lifted = await call("PUT", `/users/${bobId}/api-keys/${appKeyId}/allowed-providers`, {
      token: access,
      body: { allowed_provider_ids: null },
    })
    expect(lifted.body).toEqual({ has_provider_restrictions: false, allowed_provider_ids: null })
    expect((await chat(appKey)).status).toBe(200)
  })

  it("GET /usage: a user sees the requests and tokens of their own keys; a superuser sees everyone's", async () => {
    const own = await call("GET", "/usage", { token: bobAccess })
    expect(own.status).toBe(200)
    const row = own.body.rows.find((r: any) => r.api_key_id === appKeyId)
    // Two answered chats so far (the refused one never reached an upstream).
    expect(row).toMatchObject({ user_id: bobId, provider: "mock", model: "gpt-4o-mini", requests: 2, incomplete: 0 })
    expect(row.input_tokens).toBeGreaterThan(0)
    expect(row.output_tokens).toBeGreaterThan(0)
    expect(own.body.rows.every((r: any) => r.user_id === bobId)).toBe(true)
    expect(own.body.totals.requests).toBe(2)

    const everyone = await call("GET", "/usage", { token: access })
    expect(everyone.body.rows.some((r: any) => r.api_key_id === appKeyId)).toBe(true)
    // Another user's usage is not a user's to read; a bad window is a 400.
    expect((await call("GET", `/usage?user_id=${adminId}`, { token: bobAccess })).status).toBe(403)
    expect(
      (await call("GET", "/usage?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z", { token: access })).status,
    ).toBe(400)
    expect((await call("GET", "/usage?from=yesterday", { token: access })).status).toBe(400)
    const future = await call("GET", "/usage?from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z", { token: access })
    expect(future.body).toMatchObject({ rows: [], totals: { requests: 0 } })
  })

  it("requests over a key's limit get 429 with Retry-After", async () => {
    const limited = await call("PUT", `/users/${bobId}/api-keys/${appKeyId}`, {
      token: access,
      body: { requests_per_minute: 2 },
    })
    expect(limited.body.requests_per_minute).toBe(2)
    const statuses: Array<number> = []
    let retryAfter: string | null = null
    for (let i = 0; i < 4; i++) {
      // A counted data-plane route that uses no tokens (the model lists are not counted; a chat would spend the next test's tokens).
      const r = await call("GET", "/context/rate-probe", { token: appKey })
      statuses.push(r.status)
      if (r.status === 429) retryAfter = r.headers.get("retry-after")
    }
    // The window may roll over mid-loop: at least one request passes and at least one is refused.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeLessThanOrEqual(60)
    await call("PUT", `/users/${bobId}/api-keys/${appKeyId}`, { token: access, body: { requests_per_minute: null } })
  })

  it("tokens a key's answers used count against its tokens-per-minute limit", async () => {
    await call("PUT", `/users/${bobId}/api-keys/${appKeyId}`, { token: access, body: { tokens_per_minute: 1 } })
    // The first answer is served (the limit is checked before, the usage counted after) …
    const first = await chat(appKey)
    expect(first.status).toBe(200)
    expect(first.body.usage.total_tokens).toBeGreaterThan(1)
    // … and its tokens spend the minute's budget: the next request is refused until the window turns.
    const second = await chat(appKey)
    if (second.status !== 429) {
      // The minute turned between the two requests: spend the new window and try once more.
      expect(second.status).toBe(200)
      expect((await chat(appKey)).status).toBe(429)
    } else {
      expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    }
    await call("PUT", `/users/${bobId}/api-keys/${appKeyId}`, { token: access, body: { tokens_per_minute: null } })
    expect((await chat(appKey)).status).toBe(200)
  })

  it("deactivating the owner stops the key (403) at once; reactivating restores it", async () => {
    expect(
      (await call("PUT", `/users/${bobId}/status`, { token: access, body: { is_active: false } })).body.is_active,
    ).toBe(false)
    const refused = await chat(appKey)
    expect(refused.status).toBe(403)
    expect((await call("GET", "/auth/me", { token: bobAccess })).status).toBe(403)
    await call("PUT", `/users/${bobId}/status`, { token: access, body: { is_active: true } })
    expect((await chat(appKey)).status).toBe(200)
  })

  it("a password change revokes the user's earlier tokens", async () => {
    const changed = await call("PUT", `/users/${bobId}`, {
      token: bobAccess,
      body: { password: BOB_NEW_PASSWORD, current_password: BOB_PASSWORD },
    })
    expect(changed.status).toBe(200)
    expect((await call("GET", "/auth/me", { token: bobAccess })).status).toBe(401)
    const again = await call("POST", "/auth/login", {
      body: { username: "bob", password: BOB_NEW_PASSWORD },
      oneTimeSecret: true,
    })
    expect(again.status).toBe(200)
    bobAccess = again.body.access_token
    secrets.add(bobAccess).add(again.body.refresh_token)
  })

  it("deleting a key revokes it at once", async () => {
    expect((await call("DELETE", `/users/${bobId}/api-keys/${appKeyId}`, { token: bobAccess })).status).toBe(204)
    expect((await chat(appKey)).status).toBe(401)
    expect((await call("GET", `/users/${bobId}/api-keys/${appKeyId}`, { token: bobAccess })).status).toBe(404)
  })

  it("refresh rotates, reuse is refused, logout ends the login", async () => {
    const rotated = await call("POST", "/auth/refresh", { body: { refresh_token: refresh }, oneTimeSecret: true })
    expect(rotated.status).toBe(200)
    secrets.add(rotated.body.access_token).add(rotated.body.refresh_token)
    expect((await call("POST", "/auth/refresh", { body: { refresh_token: refresh } })).status).toBe(401)
    // Reuse ended the whole login: the rotated pair is dead too.
    expect((await call("GET", "/auth/me", { token: rotated.body.access_token })).status).toBe(401)

    const login = await call("POST", "/auth/login", {
      body: { username: "admin", password: adminPassword },
      oneTimeSecret: true,
    })
    secrets.add(login.body.access_token).add(login.body.refresh_token)
    expect((await call("POST", "/auth/logout", { body: { refresh_token: login.body.refresh_token } })).status).toBe(200)
    expect((await call("POST", "/auth/refresh", { body: { refresh_token: login.body.refresh_token } })).status).toBe(
      401,
    )
    expect((await call("GET", "/auth/me", { token: login.body.access_token })).status).toBe(401)
  })

  it("deleting a provider removes it from routing and from allow-lists", async () => {
    expect((await call("DELETE", "/providers/mock", { token: gateway.masterKey })).status).toBe(204)
    expect((await call("GET", "/providers/mock", { token: gateway.masterKey })).status).toBe(404)
    expect((await call("GET", "/v1/models", { token: gateway.masterKey })).body.data).toEqual([])
  })

  it("the OpenAPI document at /openapi.json describes every management endpoint; /docs renders it", async () => {
    const spec = (await call("GET", "/openapi.json")).body
    const operations = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    )
    for (const expected of [
      "POST /system/admin/init",
      "POST /system/secret-key/generate",
      "POST /auth/login",
      "POST /auth/refresh",
      "POST /auth/logout",
      "GET /auth/me",
      "POST /users",
      "PUT /users/{user_id}",
      "PUT /users/{user_id}/status",
      "GET /users/{user_id}/api-keys",
      "POST /users/{user_id}/api-keys",
      "PUT /users/{user_id}/api-keys/{key_id}",
      "DELETE /users/{user_id}/api-keys/{key_id}",
      "POST /providers",
      "GET /providers",
      "GET /providers/{id}",
      "PATCH /providers/{id}",
      "DELETE /providers/{id}",
      "POST /providers/{id}/keys",
      "GET /providers/{id}/keys",
      "PATCH /providers/{id}/keys/{key_id}",
      "DELETE /providers/{id}/keys/{key_id}",
      "PUT /providers/{id}/models",
    ]) {
      expect(operations).toContain(expected)
    }
    const docs = await fetch(`${gateway.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
    const page = await docs.text()
    expect(page).toContain('"openapi"')
    // The page's own script and style come from the gateway, not from a CDN.
    for (const [asset, type] of [
      ["/docs/swagger-ui-bundle.js", "javascript"],
      ["/docs/swagger-ui.css", "text/css"],
    ] as const) {
      expect(page).toContain(asset)
      const response = await fetch(`${gateway.url}${asset}`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain(type)
      expect((await response.text()).length).toBeGreaterThan(10_000)
    }
  })

  it("no management response and no log line contains any secret the scenario created", () => {
    expect(secrets.size).toBeGreaterThan(15)
    expect(scanned.length).toBeGreaterThan(50)
    const logs = gateway.logs.join("\n")
    expect(logs).toContain("/auth/login")
    for (const secret of secrets) {
      for (const exchange of scanned) {
        if (exchange.text.includes(secret)) throw new Error(`${exchange.method} ${exchange.path} leaked a secret`)
      }
      if (logs.includes(secret)) throw new Error("a log line leaked a secret")
    }
  })
})
