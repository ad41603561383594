import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"

/**
 * Issue 13 item 4: a provider's settings (shared/ProviderSettings.ts) through the real server —
 * the `description` added as the proof of "one edit per field", and the settings that moved into
 * the `settings` column (region, costs, max_qps) — from the providers file and the management
 * API alike, read back as the API shows them. Runs on the embedded backends, or on Postgres and
 * Redis when DATABASE_URL / REDIS_URL are set.
 */
describe("provider settings (real server)", () => {
  let gateway: TestGateway

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${gateway.masterKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
  }

  const settingsOf = (provider: Record<string, unknown>) => ({
    description: provider.description,
    region: provider.region,
    cost_input: provider.cost_input,
    cost_output: provider.cost_output,
    max_qps: provider.max_qps,
  })

  beforeAll(async () => {
    gateway = await startTestGateway({
      env: { BOOTSTRAP_ADMIN: "false" },
      gatewayFile: {
        providers: [
          {
            id: "from-file",
            base_url: "http://127.0.0.1:9",
            description: "Declared in the providers file",
            region: "eu-west",
            cost_input: 0.5,
            max_qps: 20,
            models: ["m1"],
          },
          { id: "plain-file", base_url: "http://127.0.0.1:9", models: ["m1"] },
        ],
      },
    })
  }, 60_000)
  afterAll(async () => {
    await gateway?.close()
  })

  it("a provider from the file shows the file's settings; the ones it leaves out are null", async () => {
    const declared = await admin("GET", "/providers/from-file")
    expect(declared.status).toBe(200)
    expect(settingsOf(declared.body)).toEqual({
      description: "Declared in the providers file",
      region: "eu-west",
      cost_input: 0.5,
      cost_output: null,
      max_qps: 20,
    })
    const plain = await admin("GET", "/providers/plain-file")
    expect(settingsOf(plain.body)).toEqual({
      description: null,
      region: null,
      cost_input: null,
      cost_output: null,
      max_qps: null,
    })
  })

  it("create, read, patch and clear a description over the API; other settings keep their values", async () => {
    const created = await admin("POST", "/providers", {
      id: "described",
      base_url: "http://127.0.0.1:9",
      description: "Team A's account — ask #llm-ops before changing",
      cost_output: 1.25,
    })
    expect(created.status).toBe(201)
    expect(settingsOf(created.body)).toEqual({
      description: "Team A's account — ask #llm-ops before changing",
      region: null,
      cost_input: null,
      cost_output: 1.25,
      max_qps: null,
    })
    expect(settingsOf((await admin("GET", "/providers/described")).body).description).toBe(
      "Team A's account — ask #llm-ops before changing",
    )
    const listed = (await admin("GET", "/providers")).body as Array<Record<string, unknown>>
    expect(listed.find((p) => p.id === "described")?.description).toBe(
      "Team A's account — ask #llm-ops before changing",
    )

    // A PATCH that leaves the description out keeps it; a new one replaces it; null clears it.
    const unrelated = await admin("PATCH", "/providers/described", { region: "us" })
    expect(settingsOf(unrelated.body)).toMatchObject({
      description: "Team A's account — ask #llm-ops before changing",
      region: "us",
      cost_output: 1.25,
    })
    const longest = "d".repeat(1000)
    const replaced = await admin("PATCH", "/providers/described", { description: longest })
    expect([replaced.status, replaced.body.description, replaced.body.region]).toEqual([200, longest, "us"])
    const cleared = await admin("PATCH", "/providers/described", { description: null, cost_output: null })
    expect(settingsOf(cleared.body)).toEqual({
      description: null,
      region: "us",
      cost_input: null,
      cost_output: null,
      max_qps: null,
    })
    expect(settingsOf((await admin("GET", "/providers/described")).body).description).toBeNull()
  })

  it("a description over 1000 characters, or not a string, is a 400 naming the field", async () => {
    const tooLong = await admin("POST", "/providers", {
      id: "long",
      base_url: "http://127.0.0.1:9",
      description: "x".repeat(1001),
    })
    expect([tooLong.status, tooLong.body._tag, tooLong.body.message]).toEqual([
      400,
      "BadRequest",
      "description: expected a string of at most 1000 characters",
    ])
    expect((await admin("GET", "/providers/long")).status).toBe(404)
    const notText = await admin("PATCH", "/providers/from-file", { description: 42 })
    expect([notText.status, notText.body.message]).toEqual([
      400,
      "description: expected a string of at most 1000 characters",
    ])
    expect((await admin("GET", "/providers/from-file")).body.description).toBe("Declared in the providers file")
  })

  it("the OpenAPI document describes the field on requests and responses", async () => {
    const response = await fetch(`${gateway.url}/openapi.json`)
    const text = await response.text()
    expect(response.status).toBe(200)
    expect(text.match(/What the provider is for, at most 1000 characters/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
  })
})
