import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createStorage, type SharedStorage, startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Issue 11, item 6: logged-out tokens, spent refresh tokens and tokens issued before a password
 * change stay refused after the gateway restarts on the same storage — in embedded mode too,
 * where the Kv is in memory and a restart forgets it.
 */
describe("token revocations survive a restart (real server, same storage)", () => {
  let storage: SharedStorage
  let gateway: TestGateway | undefined

  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const response = await fetch(`${gateway!.url}${path}`, {
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
  const restart = async () => {
    await gateway!.close()
    gateway = await startTestGateway({ storage, env: { BOOTSTRAP_ADMIN: "false" } })
  }

  beforeAll(async () => {
    storage = await createStorage()
    gateway = await startTestGateway({ storage, env: { BOOTSTRAP_ADMIN: "false" } })
  })

  afterAll(async () => {
    await gateway?.close()
    await storage?.close()
  })

  it("logout, refresh-token reuse and a password change still hold after a restart", async () => {
    for (const username of ["dora", "erin"]) {
      const created = await call("POST", "/users", gateway!.masterKey, {
        username,
        email: `${username}@example.com`,
        password: `${username}-password-1`,
      })
      expect(created.status).toBe(201)
    }
    const erinId = (await call("GET", "/users", gateway!.masterKey)).body.find((u: any) => u.username === "erin").id

    // dora: one login logged out, one whose refresh token was rotated (the old one is spent), one live.
    const loggedOut = await login("dora", "dora-password-1")
    expect((await call("POST", "/auth/logout", undefined, { refresh_token: loggedOut.refresh_token })).status).toBe(200)
    const rotated = await login("dora", "dora-password-1")
    const next = await call("POST", "/auth/refresh", undefined, { refresh_token: rotated.refresh_token })
    expect(next.status).toBe(200)
    const live = await login("dora", "dora-password-1")

    // erin: a login, then an administrator sets a new password.
    const beforeReset = await login("erin", "erin-password-1")
    expect((await call("PUT", `/users/${erinId}`, gateway!.masterKey, { password: "erin-password-2" })).status).toBe(
      200,
    )

    const refused = async () => {
      expect((await call("GET", "/auth/me", loggedOut.access_token)).status).toBe(401)
      expect((await call("GET", "/auth/me", beforeReset.access_token)).status).toBe(401)
      expect(
        (await call("POST", "/auth/refresh", undefined, { refresh_token: beforeReset.refresh_token })).status,
      ).toBe(401)
    }
    await refused()
    expect((await call("GET", "/auth/me", live.access_token)).status).toBe(200)

    await restart()

    await refused()
    expect((await call("POST", "/auth/refresh", undefined, { refresh_token: loggedOut.refresh_token })).status).toBe(
      401,
    )
    // The spent refresh token is still spent; presenting it again ends that login.
    expect((await call("POST", "/auth/refresh", undefined, { refresh_token: rotated.refresh_token })).status).toBe(401)
    expect((await call("GET", "/auth/me", next.body.access_token)).status).toBe(401)
    // Tokens nobody revoked keep working across the restart.
    expect((await call("GET", "/auth/me", live.access_token)).body.username).toBe("dora")
    const refreshed = await call("POST", "/auth/refresh", undefined, { refresh_token: live.refresh_token })
    expect(refreshed.status).toBe(200)
    expect((await call("GET", "/auth/me", (await login("erin", "erin-password-2")).access_token)).body.username).toBe(
      "erin",
    )

    // A logout after the restart holds across the next one as well.
    expect(
      (await call("POST", "/auth/logout", undefined, { refresh_token: refreshed.body.refresh_token })).status,
    ).toBe(200)
    await restart()
    expect((await call("GET", "/auth/me", refreshed.body.access_token)).status).toBe(401)
    expect((await call("GET", "/auth/me", live.access_token)).status).toBe(401)
  })
})
