import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Issue 11, item 8: the login throttle counts per account, whatever name it is given as, and
 * atomically, so concurrent guesses cannot all slip under the limit.
 */
describe("login throttle (real server, LOGIN_MAX_FAILURES=5)", () => {
  let gateway: TestGateway

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
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
  }

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false", LOGIN_MAX_FAILURES: "5" } })
    for (const name of ["bob", "carol", "dave"]) {
      const created = await post(
        "/users",
        { username: name, email: `${name}@example.com`, password: `${name}-password-1` },
        gateway.masterKey,
      )
      expect(created.status).toBe(201)
    }
  })

  afterAll(async () => {
    await gateway?.close()
  })

  it("failures under the username and under the email count against one account", async () => {
    const logins = ["bob", "bob@example.com", "BOB@Example.com", "bob", "bob@example.com"]
    for (const username of logins)
      expect((await post("/auth/login", { username, password: "wrong-guess" })).status).toBe(401)
    // The sixth try, under either spelling and even with the right password, waits.
    for (const username of ["bob", "bob@example.com"]) {
      const paused = await post("/auth/login", { username, password: "bob-password-1" })
      expect([username, paused.status, paused.body._tag]).toEqual([username, 429, "TooManyRequests"])
    }
    // Another account is not affected.
    expect((await post("/auth/login", { username: "dave@example.com", password: "dave-password-1" })).status).toBe(200)
  })

  it("30 concurrent wrong passwords: at most 5 are checked, the rest get 429", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post("/auth/login", { username: i % 2 === 0 ? "carol" : "carol@example.com", password: `guess-${i}` }),
      ),
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(25)
    expect((await post("/auth/login", { username: "carol", password: "carol-password-1" })).status).toBe(429)
  })

  it("a success clears the count", async () => {
    for (let i = 0; i < 4; i++)
      expect((await post("/auth/login", { username: "dave", password: "wrong-guess" })).status).toBe(401)
    expect((await post("/auth/login", { username: "dave@example.com", password: "dave-password-1" })).status).toBe(200)
    for (let i = 0; i < 5; i++)
      expect((await post("/auth/login", { username: "dave", password: "wrong-guess" })).status).toBe(401)
    expect((await post("/auth/login", { username: "dave", password: "dave-password-1" })).status).toBe(429)
  })
})
