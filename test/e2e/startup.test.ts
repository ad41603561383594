import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { runMain, startGatewayProcess } from "../support/GatewayProcess.js"
import { TEST_SECRET_KEY } from "../support/TestConfig.js"
import { createStorage, type SharedStorage } from "../support/TestGateway.js"

describe("start-up errors name what is wrong and exit non-zero", () => {
  let dataDir: string
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-startup-"))
  })
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

  it.each([
    [{ PORT: "abc" }, /PORT/],
    [{ MODELS_CACHE_TTL: "-5" }, /MODELS_CACHE_TTL/],
    [{ LOG_TIMEZONE: "Mars/Olympus" }, /LOG_TIMEZONE.*IANA/],
    [{ UPSTREAM_IDLE_TIMEOUT: "sixty" }, /UPSTREAM_IDLE_TIMEOUT.*such as 60s, 60 seconds/],
    [{ NODE_ENV: "production", SECRET_KEY: "short" }, /SECRET_KEY.*32/],
    [{ NODE_ENV: "production", SECRET_KEY: "please-change-me" }, /SECRET_KEY/],
    // Refused before any connection is tried, without echoing the URL (it holds a password).
    [
      { DATABASE_URL: "mysql://root:hunter2-secret@127.0.0.1:3306/apiproxy" },
      /DATABASE_URL.*expected a PostgreSQL URL \(postgres:\/\//,
    ],
    [{ DATABASE_URL: "sqlite:./data/db.sqlite" }, /DATABASE_URL.*PostgreSQL only/],
    // docker-compose.yml passes `${SECRET_KEY:-}`: empty is unset, refused beside a shared database.
    [
      { NODE_ENV: "production", SECRET_KEY: "", DATABASE_URL: "postgres://127.0.0.1:9/none" },
      /SECRET_KEY: required in production when DATABASE_URL is set/,
    ],
  ])("%j", async (env, pattern) => {
    const run = await runMain({ DATA_DIR: dataDir, SECRET_KEY: TEST_SECRET_KEY, ...env })
    expect(run.code).not.toBe(0)
    const lines = run.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(pattern)
    expect(run.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect(run.stderr).not.toContain("hunter2")
  })

  it("a broken providers file stops start-up naming the bad path", async () => {
    const file = path.join(dataDir, "broken.yaml")
    fs.writeFileSync(
      file,
      "providers:\n  - id: good\n    base_url: http://127.0.0.1:1\n    keys: [{ value: sk-1 }]\n  - id: bad\n    base_url: not-a-url\n    keys: [{ value: sk-2 }]\n",
    )
    const storage = await createStorage()
    try {
      const run = await runMain({ ...storage.env, SECRET_KEY: TEST_SECRET_KEY, GATEWAY_CONFIG: file })
      expect(run.code).not.toBe(0)
      expect(run.stderr).toContain("providers[1].base_url")
      expect(run.stderr).not.toContain("sk-2")
    } finally {
      await storage.close()
    }
  })
})

describe("graceful shutdown", () => {
  let upstream: MockProvider
  let storage: SharedStorage
  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["slow-model"] })
    storage = await createStorage()
  })
  afterAll(async () => {
    await upstream?.close()
    await storage?.close()
  })

  it("on SIGTERM finishes the in-flight request, then exits 0", async () => {
    const gateway = await startGatewayProcess({
      storage,
      gatewayFile: {
        providers: [{ id: "mock", base_url: upstream.url, keys: [{ value: "sk-x" }], models: ["slow-model"] }],
      },
    })
    const { url, masterKey: master } = gateway
    upstream.script({ delayMs: 1_000 })
    const inFlight = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${master}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "slow-model", messages: [{ role: "user", content: "finish me" }] }),
    })
    await upstream.waitFor((m) => m.count > 0)
    gateway.child.kill("SIGTERM")
    const response = await inFlight
    expect(response.status).toBe(200)
    expect(((await response.json()) as any).choices[0].message.content).toBe("Hello from mock: finish me")
    expect((await gateway.exited).code).toBe(0)
    await gateway.stop()
    await expect(fetch(`${url}/health`)).rejects.toThrow()
  })
})
