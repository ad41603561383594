import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type GatewayProcess, startGatewayProcess } from "../support/GatewayProcess.js"
import { createStorage, OUTAGE_DATABASE_URL, type SharedStorage, startTestGateway } from "../support/TestGateway.js"

/**
 * The providers file is re-imported when it changes on disk (GATEWAY_CONFIG_WATCH, default on):
 * the real gateway process, its file edited as an editor does (in place, by an atomic rename,
 * deleted and written again), answers through the official SDK.
 */

const providersFile = (upstream: string, models: ReadonlyArray<string>, extra = "") =>
  `providers:\n  - id: mock\n    base_url: ${upstream}\n    keys: [{ value: sk-mock }]\n    models: [${models.join(", ")}]\n${extra}`

/** An editor's atomic save: a new file renamed over the old one. */
const saveAtomically = (file: string, text: string) => {
  const temporary = `${file}.tmp-${process.pid}`
  fs.writeFileSync(temporary, text)
  fs.renameSync(temporary, file)
}

const until = async <A>(
  what: string,
  probe: () => Promise<A | undefined> | A | undefined,
  timeoutMs = 15_000,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("hot reload of the providers file", () => {
  let upstream: MockProvider
  let storage: SharedStorage
  let gateway: GatewayProcess
  let dir: string
  let file: string
  let client: OpenAI
  /** Standard error since `mark()`: what this step logged. */
  let from = 0
  const mark = () => (from = gateway.stderr().length)
  const logged = () => gateway.stderr().slice(from)
  const served = async (model: string) =>
    (await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] })).choices[0]?.message
      .content
  const listed = async () => (await client.models.list()).data.map((model) => model.id)

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["model-a", "model-b"], strictModels: true })
    storage = await createStorage()
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-reload-"))
    file = path.join(dir, "gateway.yaml")
    fs.writeFileSync(file, providersFile(upstream.url, ["model-a"]))
    gateway = await startGatewayProcess({ storage, env: { GATEWAY_CONFIG: file, LOG_LEVEL: "INFO" } })
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  }, 90_000)
  afterAll(async () => {
    await gateway?.stop()
    await upstream?.close()
    await storage?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("an edit that adds a model (saved by rename) is served, and one line says what changed", async () => {
    expect(await listed()).not.toContain("model-b")
    await expect(served("model-b")).rejects.toMatchObject({ status: 404 })
    mark()
    saveAtomically(file, providersFile(upstream.url, ["model-a", "model-b"]))
    await until("model-b listed", async () => ((await listed()).includes("model-b") ? true : undefined))
    expect(await served("model-b")).toBe("Hello from mock: hi")
    const lines = await until(
      "the reload line",
      () =>
        logged()
          .split("\n")
          .filter((line) => line.includes("providers file reloaded"))
          .join("\n") || undefined,
    )
    expect(lines.split("\n")).toHaveLength(1)
    expect(lines).toContain("providers updated mock")
    expect(lines).not.toContain("sk-mock")
  })

  it("a broken edit logs every problem with line, column and path, and the running config keeps serving", async () => {
    mark()
    // Written in place (no rename): two problems at once.
    fs.writeFileSync(
      file,
      providersFile(upstream.url, ["model-a", "model-b"]).replace(
        `base_url: ${upstream.url}`,
        "base_url: not-a-url\n    colour: blue",
      ),
    )
    const refused = await until("the refusal", () =>
      logged().includes("not applied") && logged().includes("unknown field") ? logged() : undefined,
    )
    expect(refused).toContain("providers file not applied (2 problem(s)); the running configuration stays")
    expect(refused).toContain('problem="line 3, column 15: providers[0].base_url: expected an http(s) URL"')
    expect(refused).toContain('problem="line 4, column 13: providers[0].colour: unknown field"')
    expect(refused).toContain(`file=${file}`)
    expect(refused).not.toContain("sk-mock")
    expect(await served("model-b")).toBe("Hello from mock: hi")
    expect(await listed()).toEqual(expect.arrayContaining(["model-a", "model-b"]))
  })

  it("deleted, then written again fixed (with a logical model), it is applied", async () => {
    mark()
    fs.rmSync(file)
    await until("the missing file logged", () => (logged().includes("file not found") ? true : undefined))
    expect(await served("model-a")).toBe("Hello from mock: hi")
    mark()
    fs.writeFileSync(
      file,
      providersFile(
        upstream.url,
        ["model-a", "model-b"],
        "logical_models:\n  - id: fast\n    upstreams: [{ provider: mock, model: model-b }]\n",
      ),
    )
    await until("the logical model listed", async () => ((await listed()).includes("fast") ? true : undefined))
    expect(await served("fast")).toBe("Hello from mock: hi")
    expect(logged()).toContain("providers file reloaded: logical models created fast")
  })

  it("the same text saved again (a touch) applies nothing and logs nothing", async () => {
    mark()
    const text = fs.readFileSync(file, "utf8")
    saveAtomically(file, text)
    // Edits are taken in order: once the next one's line is there, the touch was looked at.
    saveAtomically(file, `# edited\n${text}`)
    await until("the next edit's line", () => (logged().includes("providers file reloaded") ? true : undefined))
    expect(logged().match(/providers file/g)).toHaveLength(1)
    expect(logged()).toContain("providers file reloaded: no change")
  })
})

describe("GATEWAY_CONFIG_WATCH=false", () => {
  it("an edit is not applied until the next start", async () => {
    const upstream = await startMockProvider({ models: ["model-a", "model-b"], strictModels: true })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-reload-"))
    const file = path.join(dir, "gateway.yaml")
    fs.writeFileSync(file, providersFile(upstream.url, ["model-a"]))
    // In process: what is proven is the setting's effect, not the process (the watching case above is).
    const gateway = await startTestGateway({
      env: { GATEWAY_CONFIG: file, GATEWAY_CONFIG_WATCH: "false", LOG_LEVEL: "INFO", BOOTSTRAP_ADMIN: "false" },
    })
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
      saveAtomically(file, providersFile(upstream.url, ["model-a", "model-b"]))
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect((await client.models.list()).data.map((model) => model.id)).not.toContain("model-b")
      expect(gateway.logs.join("\n")).not.toContain("providers file reloaded")
    } finally {
      await gateway.close()
      await upstream.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})

describe("two instances of one database, each watching the same file", () => {
  it("both serve the edit; the database is written once, the other instance finds no change", async () => {
    const upstream = await startMockProvider({ models: ["model-a", "model-b"], strictModels: true })
    const storage = await createStorage({ serverUrl: OUTAGE_DATABASE_URL })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-reload-"))
    const file = path.join(dir, "gateway.yaml")
    fs.writeFileSync(file, providersFile(upstream.url, ["model-a"]))
    const first = await startTestGateway({ storage, env: { GATEWAY_CONFIG: file } })
    const second = await startTestGateway({ storage, env: { GATEWAY_CONFIG: file } })
    try {
      saveAtomically(file, providersFile(upstream.url, ["model-a", "model-b"]))
      for (const gateway of [first, second]) {
        const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
        await until("model-b listed", async () =>
          (await client.models.list()).data.some((model) => model.id === "model-b") ? true : undefined,
        )
        expect(
          (await client.chat.completions.create({ model: "model-b", messages: [{ role: "user", content: "hi" }] }))
            .choices[0]?.message.content,
        ).toBe("Hello from mock: hi")
      }
      const reloads = await until("both reload lines", () => {
        const lines = [...first.logs, ...second.logs].filter((line) => line.includes("providers file reloaded"))
        return lines.length === 2 ? lines : undefined
      })
      expect(reloads.filter((line) => line.includes("providers updated mock"))).toHaveLength(1)
      expect(reloads.filter((line) => line.includes("providers file reloaded: no change"))).toHaveLength(1)
    } finally {
      await second.close()
      await first.close()
      await upstream.close()
      await storage.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
