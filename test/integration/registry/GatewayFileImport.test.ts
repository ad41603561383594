import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, Option, Redacted, Schedule } from "effect"
import { parseGatewayFile } from "../../../src/config/GatewayFile.js"
import { makeSecrets, Secrets } from "../../../src/crypto/Secrets.js"
import { applyGatewayFile, importFromConfig } from "../../../src/registry/GatewayFileImport.js"
import { defaultPaths } from "../../../src/registry/Provider.js"
import { makeProviderRegistry, ProviderRegistry } from "../../../src/registry/ProviderRegistry.js"
import { ProviderRepository } from "../../../src/storage/ProviderRepository.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"
import { memoryLayer, randomKvPrefix, redisLayer } from "../../support/TestKv.js"

const OPENAI_KEY = "sk-openai-plaintext-0123456789abcdefXYZ"
const ANTHROPIC_KEY = "sk-ant-plaintext-0123456789abcdefQRS"
const ROTATED_KEY = "sk-openai-rotated-9876543210fedcbaUVW"
const INLINE_KEY = "sk-inline-plaintext-0123456789abcdefJKL"

const env = (overrides: Record<string, string> = {}) =>
  ConfigProvider.fromMap(
    new Map(Object.entries({ OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ...overrides })),
  )

const FILE = `
providers:
  - id: openai
    name: OpenAI
    base_url: https://api.openai.com
    keys:
      - value_env: OPENAI_API_KEY
        label: default
        max_qps: 50
      - value: ${INLINE_KEY}
        label: inline
        weight: 2
    models: [gpt-4o-mini, gpt-4o]
    aliases: { mini: gpt-4o-mini }
    retryable_status: [429, 503]
    headers: { X-Org: acme }
  - id: anthropic
    protocol: anthropic
    base_url: https://api.anthropic.com/
    keys:
      - value_env: ANTHROPIC_API_KEY
  - id: backup
    type: aggregator
    base_url: https://openrouter.ai/api
    weight: 0.5
    paths: { chat: /v1/chat/completions, responses: null }
    keys:
      - value: ${INLINE_KEY}
logical_models:
  - id: fast-model
    description: cheap first, backup second
    upstreams:
      - { provider: openai, model: gpt-4o-mini, weight: 3, priority: 0 }
      - { provider: backup, model: openai/gpt-4o-mini, weight: 1, priority: 1 }
`

const TestEnv = ProviderRepository.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(Secrets.DefaultWithoutDependencies),
  Layer.provideMerge(Layer.mergeAll(TestDatabase, testConfigLayer())),
)

/** Parses `text` (with the test env) and applies it. */
const apply = (text: string, vars: Record<string, string> = {}) =>
  parseGatewayFile(text, { file: "gateway.yaml" }).pipe(
    Effect.withConfigProvider(env(vars)),
    Effect.flatMap((file) => applyGatewayFile(file, "gateway.yaml")),
  )

const TABLES = [
  "providers",
  "provider_api_keys",
  "provider_models",
  "logical_models",
  "logical_model_upstreams",
] as const

/** Every row's id and updated_at, by table. */
const timestamps = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const out: Record<string, Array<string>> = {}
  for (const table of TABLES) {
    const rows = yield* sql<{
      id: string
      at: string
    }>`SELECT id::text AS "id", updated_at::text AS "at" FROM ${sql(table)} ORDER BY id`
    out[table] = rows.map((r) => `${r.id}@${r.at}`)
  }
  return out
})

const count = (table: (typeof TABLES)[number]) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ n: number }>`SELECT count(*)::int AS "n" FROM ${sql(table)}`, (rows) => rows[0]!.n),
  )

/** A Kv per registry instance: separate Redis connections on one prefix, or one shared memory store. */
const kvPair = Effect.gen(function* () {
  const url = process.env.REDIS_URL
  if (url !== undefined && url.trim() !== "") {
    const prefix = randomKvPrefix()
    return [yield* Layer.build(redisLayer(url, prefix)), yield* Layer.build(redisLayer(url, prefix))] as const
  }
  const shared = yield* Layer.build(memoryLayer)
  return [shared, shared] as const
})

describe("GatewayFile import", () => {
  it.live("creates providers, keys, models and logical models", () =>
    Effect.gen(function* () {
      const summary = yield* apply(FILE)
      expect(summary.providersCreated).toEqual(["openai", "anthropic", "backup"])
      expect(summary.logicalModelsCreated).toEqual(["fast-model"])
      expect(summary.keysCreated).toBe(4)
      expect(summary.changed).toBe(true)
      expect(yield* count("providers")).toBe(3)
      expect(yield* count("provider_api_keys")).toBe(4)
      expect(yield* count("provider_models")).toBe(2)
      expect(yield* count("logical_model_upstreams")).toBe(2)

      const sql = yield* SqlClient.SqlClient
      const secrets = yield* Secrets
      const keys = yield* sql<{ label: string; version: number; suffix: string; qps: number | null }>`
        SELECT k.label, k.key_version AS "version", k.key_suffix AS "suffix", k.max_qps AS "qps"
        FROM provider_api_keys k JOIN providers p ON p.id = k.provider_uuid
        WHERE p.provider_id = 'openai' ORDER BY k.label`
      expect(keys).toEqual([
        { label: "default", version: secrets.currentVersion, suffix: OPENAI_KEY.slice(-4), qps: 50 },
        { label: "inline", version: secrets.currentVersion, suffix: INLINE_KEY.slice(-4), qps: null },
      ])
      const [anthropic] = yield* sql<{ baseUrl: string; protocol: string }>`
        SELECT base_url AS "baseUrl", protocol FROM providers WHERE provider_id = 'anthropic'`
      expect(anthropic).toEqual({ baseUrl: "https://api.anthropic.com", protocol: "anthropic" })
    }).pipe(Effect.provide(TestEnv)),
  )

  it.live("running the same file twice changes nothing; a changed key is re-encrypted alone", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const before = yield* timestamps
      const again = yield* apply(FILE)
      expect(again.changed).toBe(false)
      expect(again.providersUnchanged).toEqual(["openai", "anthropic", "backup"])
      expect(again.logicalModelsUnchanged).toEqual(["fast-model"])
      expect(again.unchanged).toBe(4)
      expect(again.keysCreated + again.keysUpdated + again.keysRemoved).toBe(0)
      expect(yield* timestamps).toEqual(before)

      // Only the rotated key's row moves.
      const sql = yield* SqlClient.SqlClient
      const [oldRow] = yield* sql<{ id: string; ct: Uint8Array }>`
        SELECT k.id::text AS "id", k.encrypted_key AS "ct" FROM provider_api_keys k
        JOIN providers p ON p.id = k.provider_uuid WHERE p.provider_id = 'openai' AND k.label = 'default'`
      const rotated = yield* apply(FILE, { OPENAI_API_KEY: ROTATED_KEY })
      expect(rotated.providersUpdated).toEqual(["openai"])
      expect(rotated.keysUpdated).toBe(1)
      const after = yield* timestamps
      for (const table of TABLES) {
        const moved = after[table]!.filter((row) => !before[table]!.includes(row))
        expect(moved.map((row) => row.split("@")[0])).toEqual(table === "provider_api_keys" ? [oldRow!.id] : [])
      }
      const [newRow] = yield* sql<{
        ct: Uint8Array
      }>`SELECT encrypted_key AS "ct" FROM provider_api_keys WHERE id = ${oldRow!.id}`
      expect(Buffer.from(newRow!.ct).equals(Buffer.from(oldRow!.ct))).toBe(false)
    }).pipe(Effect.provide(TestEnv)),
  )

  it.live("leaves providers missing from the file alone unless prune: true", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const onlyOpenAi = `
providers:
  - id: openai
    base_url: https://api.openai.com
    keys: [{ value_env: OPENAI_API_KEY, label: default }]
`
      const kept = yield* apply(onlyOpenAi)
      expect(kept.providersPruned).toEqual([])
      expect(kept.providersUpdated).toEqual(["openai"])
      // The provider's keys are now exactly the file's (the inline key is gone), static models too.
      expect(kept.keysRemoved).toBe(1)
      expect(yield* count("providers")).toBe(3)
      expect(yield* count("logical_models")).toBe(1)

      const pruned = yield* apply(`prune: true\n${onlyOpenAi}`)
      expect(pruned.providersPruned).toEqual(["anthropic", "backup"])
      expect(pruned.logicalModelsPruned).toEqual(["fast-model"])
      expect(pruned.pruned).toBe(3)
      expect(yield* count("providers")).toBe(1)
      expect(yield* count("provider_api_keys")).toBe(1)
      expect(yield* count("logical_models")).toBe(0)
      expect(yield* count("logical_model_upstreams")).toBe(0)
    }).pipe(Effect.provide(TestEnv)),
  )

  it.live("a logical model may name a provider that only exists in the database", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const referencing = `
providers:
  - id: extra
    base_url: https://extra.example.com
logical_models:
  - id: mixed
    upstreams: [{ provider: extra, model: m1 }, { provider: anthropic, model: claude-3-5-haiku }]
`
      const summary = yield* apply(referencing)
      expect(summary.logicalModelsCreated).toEqual(["mixed"])
      const unknown = yield* Effect.flip(apply(referencing.replace("provider: anthropic", "provider: nowhere")))
      expect(unknown.message).toBe('gateway.yaml: logical_models[0].upstreams[1].provider: unknown provider "nowhere"')
      // The failed import rolled back entirely.
      expect(yield* count("logical_models")).toBe(2)
    }).pipe(Effect.provide(TestEnv)),
  )

  it.live("stores provider keys encrypted: no plaintext in any table", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ name: string }>`
        SELECT table_name AS "name" FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining([...TABLES]))
      let dump = ""
      for (const { name } of tables) {
        const rows = yield* sql<{ row: string }>`SELECT t::text AS "row" FROM ${sql(name)} t`
        dump += rows.map((r) => r.row).join("\n")
      }
      expect(dump).toContain("api.openai.com")
      for (const plaintext of [OPENAI_KEY, ANTHROPIC_KEY, INLINE_KEY]) {
        expect(dump).not.toContain(plaintext)
        expect(dump).not.toContain(Buffer.from(plaintext).toString("hex"))
        expect(dump).not.toContain(plaintext.slice(0, 20))
      }
      const keys = yield* sql<{ ct: Uint8Array; version: number }>`
        SELECT encrypted_key AS "ct", key_version AS "version" FROM provider_api_keys`
      const secrets = yield* Secrets
      const decrypted = yield* Effect.forEach(keys, (k) => secrets.decrypt(k.ct, k.version))
      expect(decrypted.map(Redacted.value).sort()).toEqual([ANTHROPIC_KEY, INLINE_KEY, INLINE_KEY, OPENAI_KEY].sort())
    }).pipe(Effect.provide(TestEnv)),
  )
})

describe("ProviderRegistry", () => {
  it.live("loads the imported providers with decrypted keys and default paths", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const [kv] = yield* kvPair
      const registry = yield* makeProviderRegistry.pipe(Effect.provide(kv))
      const snapshot = yield* registry.current
      expect(registry.unsafeCurrent()).toBe(snapshot)
      expect([...snapshot.providers.keys()].sort()).toEqual(["anthropic", "backup", "openai"])

      const openai = snapshot.providers.get("openai")!
      expect(openai).toMatchObject({
        name: "OpenAI",
        protocol: "openai",
        baseUrl: "https://api.openai.com",
        type: "native",
        weight: 1,
        enabled: true,
        models: ["gpt-4o-mini", "gpt-4o"],
        aliases: { mini: "gpt-4o-mini" },
        paths: defaultPaths("openai"),
        retryableStatus: [429, 503],
        headers: { "X-Org": "acme" },
      })
      expect(openai.keys.map((k) => [k.label, Redacted.value(k.secret), k.weight, k.maxQps])).toEqual([
        ["default", OPENAI_KEY, 1, 50],
        ["inline", INLINE_KEY, 2, null],
      ])
      expect(snapshot.providers.get("anthropic")!.paths).toEqual(defaultPaths("anthropic"))
      expect(snapshot.providers.get("backup")).toMatchObject({
        type: "aggregator",
        weight: 0.5,
        models: null,
        paths: { ...defaultPaths("openai"), responses: null },
      })
      expect(snapshot.logicalModels.get("fast-model")).toEqual({
        id: "fast-model",
        description: "cheap first, backup second",
        enabled: true,
        strategy: "balanced",
        upstreams: [
          { provider: "openai", model: "gpt-4o-mini", weight: 3, priority: 0 },
          { provider: "backup", model: "openai/gpt-4o-mini", weight: 1, priority: 1 },
        ],
        policy: {},
      })
    }).pipe(Effect.scoped, Effect.provide(TestEnv)),
  )

  it.live("skips a key it cannot decrypt, naming provider and label but never the key", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const sql = yield* SqlClient.SqlClient
      const foreignSecret = "sk-foreign-plaintext-0123456789abcdef"
      const foreign = makeSecrets({ secretKey: Redacted.make("some-other-deployment-secret-0123456789") }).encrypt(
        Redacted.make(foreignSecret),
      )
      yield* sql`
        INSERT INTO provider_api_keys (provider_uuid, encrypted_key, key_version, key_suffix, label)
        SELECT id, ${Buffer.from(foreign.ciphertext)}, ${foreign.version}, '', 'stolen-db-copy'
        FROM providers WHERE provider_id = 'anthropic'`

      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations, message }) => {
          logs.push(JSON.stringify({ message, annotations: Object.fromEntries(annotations) }))
        }),
      )
      const [kv] = yield* kvPair
      const registry = yield* makeProviderRegistry.pipe(Effect.provide(Layer.merge(Layer.succeedContext(kv), capture)))
      const anthropic = (yield* registry.current).providers.get("anthropic")!
      expect(anthropic.keys.map((k) => k.label)).toEqual(["anthropic_api_key"])
      const warning = logs.find((line) => line.includes("cannot be decrypted"))
      expect(warning).toBeDefined()
      expect(warning).toContain('"provider":"anthropic"')
      expect(warning).toContain('"label":"stolen-db-copy"')
      expect(logs.join("\n")).not.toContain(foreignSecret)
    }).pipe(Effect.scoped, Effect.provide(TestEnv)),
  )

  it.live("invalidate reloads this instance and, through Kv, every other instance", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const [kvA, kvB] = yield* kvPair
      const a = yield* makeProviderRegistry.pipe(Effect.provide(kvA))
      const b = yield* makeProviderRegistry.pipe(Effect.provide(kvB))
      expect((yield* b.current).providers.has("late")).toBe(false)

      yield* apply(`providers:\n  - id: late\n    base_url: https://late.example.com\n`)
      // Nothing is reloaded until someone says the database changed.
      expect((yield* a.current).providers.has("late")).toBe(false)
      const bLoadedAt = (yield* b.current).loadedAt
      yield* a.invalidate
      expect((yield* a.current).providers.has("late")).toBe(true)

      // Another instance hears about it asynchronously: poll (real time) until it has reloaded.
      yield* b.current.pipe(
        Effect.map((s) => s.providers.has("late")),
        Effect.repeat({ until: (has) => has, schedule: Schedule.spaced("20 millis") }),
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("instance B never reloaded") }),
      )
      expect((yield* b.current).providers.get("late")?.baseUrl).toBe("https://late.example.com")
      expect((yield* b.current).loadedAt).toBeGreaterThanOrEqual(bLoadedAt)
    }).pipe(Effect.scoped, Effect.provide(TestEnv)),
  )

  it.live("a saved change whose refresh fails does not fail; the refresh is retried until it gets through", () =>
    Effect.gen(function* () {
      yield* apply(FILE)
      const [kv] = yield* kvPair
      const real = yield* ProviderRepository
      let failing = false
      const flaky = new ProviderRepository({
        ...real,
        loadAll: Effect.suspend(() =>
          failing ? Effect.fail(new SqlError({ message: "connection lost" })) : real.loadAll,
        ),
      })
      const registry = yield* makeProviderRegistry.pipe(
        Effect.provide(Layer.merge(Layer.succeedContext(kv), Layer.succeed(ProviderRepository, flaky))),
      )

      yield* apply(`providers:\n  - id: late\n    base_url: https://late.example.com\n`)
      failing = true
      // The change is saved; the refresh fails, and the caller is not told so.
      const outcome = yield* Effect.either(registry.afterChange)
      expect(outcome._tag).toBe("Right")
      expect((yield* registry.current).providers.has("late")).toBe(false)
      expect(yield* Effect.either(registry.invalidate)).toMatchObject({
        _tag: "Left",
        left: { _tag: "RegistryLoadError" },
      })

      // Once the database answers again, the background retry (first after 0.2 s) refreshes it.
      failing = false
      yield* registry.current.pipe(
        Effect.map((s) => s.providers.has("late")),
        Effect.repeat({ until: (has) => has, schedule: Schedule.spaced("50 millis") }),
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the registry was never refreshed") }),
      )
    }).pipe(Effect.scoped, Effect.provide(TestEnv)),
  )

  it.live("importFromConfig imports GATEWAY_CONFIG and refreshes the registry", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-config-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "gateway.json")
      fs.writeFileSync(
        file,
        JSON.stringify({ providers: [{ id: "local", base_url: "http://127.0.0.1:9", keys: [{ value: INLINE_KEY }] }] }),
      )
      const [kv] = yield* kvPair
      const layer = ProviderRegistry.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeedContext(kv)))
      const summary = yield* Effect.gen(function* () {
        const registry = yield* ProviderRegistry
        expect((yield* registry.current).providers.size).toBe(0)
        const result = yield* importFromConfig
        const local = (yield* registry.current).providers.get("local")
        expect(local?.keys.map((k) => Redacted.value(k.secret))).toEqual([INLINE_KEY])
        return result
      }).pipe(Effect.provide(layer), Effect.provide(testConfigLayer({ GATEWAY_CONFIG: file })))
      expect(Option.map(summary, (s) => s.providersCreated)).toEqual(Option.some(["local"]))
    }).pipe(Effect.scoped, Effect.provide(TestEnv)),
  )
})
