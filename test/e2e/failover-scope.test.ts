import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { contextLengthExceeded, type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * The most common set-up, as failoverbench's configuration (a) has it: ONE provider account
 * serving many models, each logical model with a fallback model on the same account. The
 * gateway is not reset between the tests (state left by one meets the next, as in production):
 * one model's trouble must never take down another model, the fallback, or the account.
 */

const MODELS = ["m-503", "m-429", "m-ctx", "m-flap", "m-solo", "m-ok"]
const LOGICAL = ["m-503", "m-429", "m-ctx", "m-flap"]

describe("one provider account, many models: failure state per model", () => {
  let account: MockProvider
  let gateway: TestGateway
  /** Models currently failing, and how. */
  const failing = new Map<string, object>()

  const chat = async (model: string, content: string, stream = false) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content }], ...(stream ? { stream: true } : {}) }),
    })
    const text = await response.text()
    return {
      status: response.status,
      text,
      model: response.headers.get("x-apiproxy-model"),
      attempts: response.headers.get("x-apiproxy-attempts"),
    }
  }
  const calls = (model: string) => account.received.filter((r) => r.model === model).length

  /** failoverbench's `alive_after`: a healthy model of the same account answers at once. */
  const expectAlive = async () => {
    const ok = await chat("m-ok", "alive?")
    expect(ok.status).toBe(200)
    expect(ok.attempts).toBe("1")
    const stream = await chat("m-ok", "alive, streaming?", true)
    expect(stream.status).toBe(200)
    expect(stream.text).toContain("[DONE]")
  }

  beforeAll(async () => {
    account = await startMockProvider({ models: MODELS })
    account.setDefault((r) => failing.get(r.model ?? "") as never)
    gateway = await startTestGateway({
      env: {
        CIRCUIT_FAILURE_THRESHOLD: "3",
        CIRCUIT_COOLDOWN: "1 second",
        CIRCUIT_MAX_COOLDOWN: "2 seconds",
        UPSTREAM_HEADERS_TIMEOUT: "2 seconds",
      },
      gatewayFile: {
        providers: [
          {
            id: "acct",
            protocol: "openai",
            base_url: account.url,
            keys: [{ value: "sk-acct-secret" }],
            models: MODELS,
          },
        ],
        logical_models: LOGICAL.map((id) => ({
          id,
          upstreams: [
            { provider: "acct", model: id, priority: 0 },
            { provider: "acct", model: "m-ok", priority: 1 },
          ],
        })),
      },
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await account?.close()
  })

  beforeEach(() => {
    account.reset()
    account.setDefault((r) => failing.get(r.model ?? "") as never)
    failing.clear()
  })

  it("a 503 burst on one model opens that model's circuit only: the fallback and the other models keep answering", async () => {
    failing.set("m-503", { status: 503 })
    for (let i = 0; i < 4; i++) {
      const answer = await chat("m-503", `burst ${i}`, i % 2 === 1)
      expect(answer.status).toBe(200)
      expect(answer.model).toBe("m-ok")
    }
    // Three failed requests (3 + 3 + 1 calls) opened m-503's circuit; the fourth skipped it.
    expect(calls("m-503")).toBe(7)
    await expectAlive()
    const other = await chat("m-429", "unrelated")
    expect(other.model).toBe("m-429")
    expect(other.attempts).toBe("1")
  })

  it("a 429 on one model backs the key off for that model only", async () => {
    failing.set("m-429", { status: 429 })
    const answer = await chat("m-429", "limited", true)
    expect(answer.status).toBe(200)
    expect(answer.model).toBe("m-ok")
    // The same key, another model: no wait, no skip.
    await expectAlive()
    expect((await chat("m-ctx", "fine")).attempts).toBe("1")
  })

  it("context_length_exceeded goes to the fallback model at once; the primary is asked once", async () => {
    failing.set("m-ctx", contextLengthExceeded("m-ctx"))
    const answer = await chat("m-ctx", "a very long prompt", true)
    expect(answer.status).toBe(200)
    expect(answer.model).toBe("m-ok")
    expect(calls("m-ctx")).toBe(1)
    await expectAlive()
  })

  it("a single-upstream model keeps serving after a failure burst ends (no self-inflicted outage)", async () => {
    failing.set("m-solo", { status: 503 })
    for (let i = 0; i < 3; i++) expect((await chat("acct/m-solo", `down ${i}`)).status).toBe(503)
    failing.delete("m-solo")
    // The circuit is still open, but the request goes out (panic mode) and is answered.
    const back = await chat("acct/m-solo", "back", true)
    expect(back.status).toBe(200)
    expect(back.model).toBe("m-solo")
    await expectAlive()
  })

  it("a flapping primary: the fallback serves during the outage, the primary carries traffic again soon after it recovers", async () => {
    failing.set("m-flap", { status: 503 })
    for (let i = 0; i < 4; i++) expect((await chat("m-flap", `down ${i}`)).model).toBe("m-ok")
    failing.delete("m-flap")
    const recovered = Date.now()
    let served: string | null = null
    while (Date.now() - recovered < 5_000) {
      served = (await chat("m-flap", "up?")).model
      if (served === "m-flap") break
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(served).toBe("m-flap")
    expect(Date.now() - recovered).toBeLessThan(3_000)
    await expectAlive()
  })
})
