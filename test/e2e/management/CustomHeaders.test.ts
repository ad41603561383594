import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Issue 11, item 9: a provider's custom headers may carry credentials under any name. No
 * management response shows a value (names, and at most `…` plus the last four characters);
 * the upstream still gets them in full.
 */
const TRACE = "sk-trace-secret-0123456789abcdefWXYZ"
const TEAM = "team-42"

describe("custom headers are never shown (real server)", () => {
  let gateway: TestGateway
  let upstream: MockProvider
  const texts: Array<string> = []

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${gateway.masterKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    texts.push(text)
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
  }

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false" } })
  })

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  it("every response masks every value; the upstream gets them in full; a masked value sent back keeps the stored one", async () => {
    const created = await call("POST", "/providers", {
      id: "mock",
      base_url: upstream.url,
      models: ["gpt-4o-mini"],
      custom_headers: { "X-Trace": TRACE, "X-Team": TEAM },
      keys: [{ key: "sk-provider-0123456789abcdef" }],
    })
    expect(created.status).toBe(201)
    const masked = { "X-Trace": "…WXYZ", "X-Team": "…" }
    expect(created.body.custom_headers).toEqual(masked)
    expect((await call("GET", "/providers/mock")).body.custom_headers).toEqual(masked)
    expect((await call("GET", "/providers")).body[0].custom_headers).toEqual(masked)

    const chat = async () => {
      const r = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      })
      expect(r.status).toBe(200)
      return upstream.received.at(-1)!.headers
    }
    expect(await chat()).toMatchObject({ "x-trace": TRACE, "x-team": TEAM })

    // A PATCH with the masked values copied from a GET keeps them; a new value replaces one.
    const patched = await call("PATCH", "/providers/mock", { custom_headers: { ...masked, "X-Team": "team-43" } })
    expect(patched.status).toBe(200)
    expect(patched.body.custom_headers).toEqual(masked)
    expect(await chat()).toMatchObject({ "x-trace": TRACE, "x-team": "team-43" })

    for (const text of texts) {
      expect(text).not.toContain(TRACE)
      expect(text).not.toContain(TEAM)
      expect(text).not.toContain("team-43")
    }
  })
})
