import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { ApiError, errorMessageOf } from "../../../console/src/api/ApiError.js"
import { createSession } from "../../../console/src/api/Session.js"

/** A fake management API: logins, single-use refresh tokens, and `/auth/me` that wants a live access token. */
const fakeGateway = () => {
  let generation = 0
  const live = new Set<string>()
  const refreshTokens = new Set<string>()
  const calls: Array<string> = []
  const issue = () => {
    generation++
    live.add(`access-${generation}`)
    refreshTokens.add(`refresh-${generation}`)
    return {
      access_token: `access-${generation}`,
      refresh_token: `refresh-${generation}`,
      token_type: "bearer",
      expires_in: 1800,
      refresh_expires_in: 604800,
    }
  }
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
  const fetchFn = vi.fn(async (input: string | URL, init?: RequestInit) => {
    const path = String(input)
    const body = init?.body === undefined ? {} : JSON.parse(String(init.body))
    const auth = new Headers(init?.headers).get("authorization")?.replace(/^Bearer /, "")
    calls.push(`${init?.method ?? "GET"} ${path}${auth === undefined ? "" : ` ${auth}`}`)
    if (path === "/auth/login")
      return body.password === "right"
        ? json(200, issue())
        : json(401, { _tag: "Unauthorized", message: "Invalid username or password" })
    if (path === "/auth/refresh") {
      if (!refreshTokens.delete(body.refresh_token))
        return json(401, { _tag: "Unauthorized", message: "Invalid refresh token" })
      return json(200, issue())
    }
    if (path === "/auth/logout") {
      refreshTokens.delete(body.refresh_token)
      live.clear()
      return json(200, { message: "Logged out" })
    }
    if (auth === undefined || !live.has(auth)) return json(401, { _tag: "Unauthorized", message: "Invalid token" })
    return json(200, { id: "u1", username: "admin" })
  })
  return {
    fetchFn: fetchFn as unknown as typeof fetch,
    calls,
    live,
    refreshTokens,
    expireAccessTokens: () => live.clear(),
    revokeRefreshTokens: () => refreshTokens.clear(),
  }
}

describe("the console's session (login in memory, refresh flow)", () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it("signs in, calls with the access token, and refuses a wrong password with the gateway's message", async () => {
    const gateway = fakeGateway()
    const session = createSession({ fetch: gateway.fetchFn, onSignedOut: () => undefined })
    await expect(session.signIn("admin", "wrong")).rejects.toThrow("Invalid username or password")
    expect(session.signedIn).toBe(false)
    await session.signIn("admin", "right")
    expect(await session.request("GET", "/auth/me")).toEqual({ id: "u1", username: "admin" })
    expect(gateway.calls.at(-1)).toBe("GET /auth/me access-1")
  })

  it("on a 401, refreshes once (one refresh shared by concurrent calls) and retries", async () => {
    const gateway = fakeGateway()
    const session = createSession({ fetch: gateway.fetchFn, onSignedOut: () => undefined })
    await session.signIn("admin", "right")
    gateway.expireAccessTokens()
    const answers = await Promise.all([
      session.request("GET", "/a"),
      session.request("GET", "/b"),
      session.request("GET", "/c"),
    ])
    expect(answers).toHaveLength(3)
    // Each refresh token works once: a second refresh with refresh-1 would have failed.
    expect(gateway.calls.filter((call) => call.startsWith("POST /auth/refresh"))).toHaveLength(1)
    expect(gateway.calls.slice(-3).every((call) => call.endsWith("access-2"))).toBe(true)
  })

  it("refreshes a minute before the access token expires, without waiting for a 401", async () => {
    const gateway = fakeGateway()
    const session = createSession({ fetch: gateway.fetchFn, onSignedOut: () => undefined })
    await session.signIn("admin", "right")
    await vi.advanceTimersByTimeAsync((1800 - 61) * 1000)
    expect(gateway.calls.some((call) => call.startsWith("POST /auth/refresh"))).toBe(false)
    await vi.advanceTimersByTimeAsync(2000)
    expect(gateway.calls.filter((call) => call.startsWith("POST /auth/refresh"))).toHaveLength(1)
    await session.request("GET", "/auth/me")
    expect(gateway.calls.at(-1)).toBe("GET /auth/me access-2")
  })

  it("a refused refresh ends the session and says so", async () => {
    const gateway = fakeGateway()
    const reasons: Array<string | undefined> = []
    const session = createSession({ fetch: gateway.fetchFn, onSignedOut: (reason) => reasons.push(reason) })
    await session.signIn("admin", "right")
    gateway.expireAccessTokens()
    gateway.revokeRefreshTokens()
    const failure = await session.request("GET", "/auth/me").catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(ApiError)
    expect((failure as ApiError).status).toBe(401)
    expect(session.signedIn).toBe(false)
    expect(reasons).toEqual(["Your session has ended: sign in again."])
  })

  it("signing out ends the login at the gateway, then here; no timer is left behind", async () => {
    const gateway = fakeGateway()
    const reasons: Array<string | undefined> = []
    const session = createSession({ fetch: gateway.fetchFn, onSignedOut: (reason) => reasons.push(reason) })
    await session.signIn("admin", "right")
    await session.signOut()
    expect(gateway.calls.at(-1)).toBe("POST /auth/logout")
    expect(gateway.refreshTokens.size).toBe(0)
    expect(session.signedIn).toBe(false)
    expect(reasons).toEqual([undefined])
    expect(vi.getTimerCount()).toBe(0)
  })

  it("a gateway out of reach is an ApiError with status 0, not a crash", async () => {
    const session = createSession({
      fetch: (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch,
      onSignedOut: () => undefined,
    })
    const failure = await session.signIn("admin", "right").catch((error: unknown) => error)
    expect([(failure as ApiError).status, (failure as ApiError).message]).toEqual([
      0,
      "The gateway could not be reached",
    ])
  })
})

describe("error messages", () => {
  it("the management API's, the data plane's, else the status", () => {
    const invalid = {
      _tag: "BadRequest",
      message: "base_url: expected an http(s) URL",
      details: { issues: [{ path: "base_url", message: "expected an http(s) URL" }] },
    }
    expect(errorMessageOf(400, invalid)).toBe("base_url: expected an http(s) URL")
    expect(errorMessageOf(401, { error: { message: "Invalid API key", type: "invalid_request_error" } })).toBe(
      "Invalid API key",
    )
    expect(errorMessageOf(502, "<html>")).toBe("The gateway answered 502")
  })
})
