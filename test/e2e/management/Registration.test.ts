import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/** `POST /auth/register` on a gateway started with ALLOW_REGISTRATION=true (off by default, W17). */
describe("self-service registration (ALLOW_REGISTRATION=true)", () => {
  let gateway: TestGateway

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { ALLOW_REGISTRATION: "true" } })
  })

  afterAll(async () => {
    await gateway?.close()
  })

  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text), text }
  }

  it("creates an active, non-superuser account that can log in, even when asked for superuser", async () => {
    const register = await post("/auth/register", {
      username: "carol",
      email: "carol@example.com",
      password: "carol-password-1",
      display_name: "Carol",
      is_superuser: true,
    })
    expect(register.status).toBe(201)
    expect(register.body).toMatchObject({
      username: "carol",
      email: "carol@example.com",
      display_name: "Carol",
      is_active: true,
      is_superuser: false,
    })
    expect(register.text).not.toContain("carol-password-1")
    expect(register.body).not.toHaveProperty("hashed_password")

    const login = await post("/auth/login", { username: "carol", password: "carol-password-1" })
    expect(login.status).toBe(200)
    // Not a superuser: the user list stays closed to her.
    const users = await fetch(`${gateway.url}/users`, {
      headers: { authorization: `Bearer ${login.body.access_token}` },
    })
    expect(users.status).toBe(403)
  })

  it("a taken username or email is 409; an invalid body is 400", async () => {
    const again = await post("/auth/register", {
      username: "carol",
      email: "other@example.com",
      password: "another-password-1",
    })
    expect(again.status).toBe(409)
    const sameEmail = await post("/auth/register", {
      username: "carol2",
      email: "carol@example.com",
      password: "another-password-1",
    })
    expect(sameEmail.status).toBe(409)
    const shortPassword = await post("/auth/register", {
      username: "dave",
      email: "dave@example.com",
      password: "short",
    })
    expect(shortPassword.status).toBe(400)
    const noUsername = await post("/auth/register", { email: "erin@example.com", password: "erin-password-1" })
    expect(noUsername.status).toBe(400)
  })

  it("five failed logins pause that account from this address: 429 with the wait, X-Forwarded-For not trusted by default", async () => {
    expect(
      (await post("/auth/register", { username: "frank", email: "frank@example.com", password: "frank-password-1" }))
        .status,
    ).toBe(201)
    for (let i = 0; i < 5; i++)
      expect((await post("/auth/login", { username: "frank", password: "not-it" })).status).toBe(401)
    const paused = await post("/auth/login", { username: "frank", password: "frank-password-1" })
    expect(paused.status).toBe(429)
    expect(paused.body).toMatchObject({
      _tag: "TooManyRequests",
      message: expect.stringContaining("Too many failed logins"),
    })
    expect(paused.body.details.retry_after_seconds).toBeGreaterThan(0)
    expect(paused.body.details.retry_after_seconds).toBeLessThanOrEqual(900)
    const spoofed = await fetch(`${gateway.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
      body: JSON.stringify({ username: "frank", password: "frank-password-1" }),
    })
    expect(spoofed.status).toBe(429)
    // Other accounts are not affected.
    expect((await post("/auth/login", { username: "carol", password: "carol-password-1" })).status).toBe(200)
  })
})
