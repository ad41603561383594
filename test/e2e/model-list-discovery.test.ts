import { setTimeout as sleep } from "node:timers/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { freePort } from "../support/GatewayProcess.js"
import { sdkClients } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 16 item 5: `/v1/models` omits the models of a provider whose last model discovery failed
 * (down, key rejected, or failing since its list was last read) instead of listing what it cannot
 * serve (the gateway asks again 30 s later, or after MODELS_CACHE_TTL once it answered).
 */
describe("model lists leave out providers whose discovery failed", () => {
  let good: MockProvider
  let flaky: MockProvider
  let rejecting: MockProvider
  let gateway: TestGateway

  beforeAll(async () => {
    good = await startMockProvider({ models: ["good-model"] })
    flaky = await startMockProvider({ models: ["flaky-model"] })
    rejecting = await startMockProvider({ models: ["locked-model"], apiKeys: ["sk-the-right-key"] })
    gateway = await startTestGateway({
      env: { MODELS_CACHE_TTL: "1", UPSTREAM_DISCOVERY_TIMEOUT: "1 second" },
      gatewayFile: {
        providers: [
          { id: "good", protocol: "openai", base_url: good.url, keys: [{ value: "sk-good" }] },
          { id: "flaky", protocol: "openai", base_url: flaky.url, keys: [{ value: "sk-flaky" }] },
          { id: "locked", protocol: "openai", base_url: rejecting.url, keys: [{ value: "sk-a-wrong-key" }] },
          {
            id: "gone",
            protocol: "openai",
            base_url: `http://127.0.0.1:${await freePort()}`,
            keys: [{ value: "sk-gone" }],
          },
        ],
      },
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await good?.close()
    await flaky?.close()
    await rejecting?.close()
  })

  const listed = async () => {
    const { openai } = sdkClients(gateway.url, gateway.masterKey)
    return (await openai.models.list()).data.map((m) => `${m.owned_by}:${m.id}`).sort()
  }

  it("a provider that is down or rejects the key is not listed; one whose refresh fails is dropped", async () => {
    expect(await listed()).toEqual(["flaky:flaky-model", "good:good-model"])
    const { gemini } = sdkClients(gateway.url, gateway.masterKey)
    expect((await gemini.models.list()).page.map((m) => m.name).sort()).toEqual([
      "models/flaky-model",
      "models/good-model",
    ])

    // The list of `flaky` expires (MODELS_CACHE_TTL 1 s); its refresh fails: its models leave the list.
    flaky.setDefault({ status: 503, match: { path: "/v1/models" } })
    const deadline = Date.now() + 10_000
    let now = await listed()
    while (now.includes("flaky:flaky-model") && Date.now() < deadline) {
      await sleep(200)
      now = await listed()
    }
    expect(now).toEqual(["good:good-model"])
    // Nor does a request for its model go there now.
    const { openai } = sdkClients(gateway.url, gateway.masterKey)
    const refused = await openai.chat.completions
      .create({ model: "flaky-model", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e)
    expect(refused.status).toBe(404)
  })
})
