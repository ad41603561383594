import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import migration0006 from "../../../migrations/0006_provider_settings.js"
import { parseGatewayFile } from "../../../src/config/GatewayFile.js"
import { Secrets } from "../../../src/crypto/Secrets.js"
import { applyGatewayFile } from "../../../src/registry/GatewayFileImport.js"
import { buildSnapshot } from "../../../src/registry/ProviderRegistry.js"
import { ProviderAdminRepository } from "../../../src/storage/ProviderAdminRepository.js"
import { ProviderRepository } from "../../../src/storage/ProviderRepository.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { FreshTestDatabase, TestDatabase } from "../../support/TestDatabase.js"

/**
 * Issue 13 item 4: a provider's settings (shared/ProviderSettings.ts) from the providers file to
 * the `settings` column and back — the `description` added as the proof, and the settings that
 * moved out of their columns — and migration 0006 carrying existing rows over. Embedded PGlite,
 * or Postgres when DATABASE_URL is set.
 */
const envOn = (database: typeof TestDatabase) =>
  Layer.mergeAll(
    ProviderRepository.DefaultWithoutDependencies,
    ProviderAdminRepository.DefaultWithoutDependencies,
  ).pipe(
    Layer.provideMerge(ProviderRepository.DefaultWithoutDependencies),
    Layer.provideMerge(Secrets.DefaultWithoutDependencies),
    Layer.provideMerge(Layer.mergeAll(database, testConfigLayer())),
  )
const TestEnv = envOn(TestDatabase)
/** The migration test takes the schema back before migration 0006: a database of its own. */
const FreshEnv = envOn(FreshTestDatabase)

const parse = (text: string) =>
  parseGatewayFile(text, { file: "gateway.yaml" }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))

const apply = (text: string) => Effect.flatMap(parse(text), (file) => applyGatewayFile(file, "gateway.yaml"))

const fileWith = (settings: string) => `
providers:
  - id: p1
    base_url: http://127.0.0.1:9
    models: [m1]
${settings}`

const storedSettings = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ id: string; settings: unknown; updatedAt: Date }>`
    SELECT provider_id AS "id", settings, updated_at AS "updatedAt" FROM providers ORDER BY provider_id`,
).pipe(
  Effect.map((rows) =>
    rows.map((r) => ({
      ...r,
      settings: typeof r.settings === "string" ? (JSON.parse(r.settings) as unknown) : r.settings,
      updatedAt: new Date(r.updatedAt).getTime(),
    })),
  ),
)

describe("provider settings in the database", () => {
  it.live(
    "a description from the file is stored, read back by the registry and administration, and re-importing it changes nothing",
    () =>
      Effect.gen(function* () {
        const repo = yield* ProviderRepository
        const admin = yield* ProviderAdminRepository
        const description = "Shared account of the research team — ask before raising max_qps"
        const text = fileWith(
          `    description: ${JSON.stringify(description)}\n    region: eu\n    cost_input: 0.15\n    cost_output: 0.6\n    max_qps: 40`,
        )
        const first = yield* apply(text)
        expect(first.providersCreated).toEqual(["p1"])

        const [row] = yield* storedSettings
        expect(row!.settings).toEqual({ description, region: "eu", cost_input: 0.15, cost_output: 0.6, max_qps: 40 })
        const loaded = yield* repo.loadAll
        expect(loaded.providers[0]!.settings).toEqual({
          description,
          region: "eu",
          cost_input: 0.15,
          cost_output: 0.6,
          max_qps: 40,
        })
        const found = yield* admin.find("p1")
        expect(Option.map(found, (p) => p.settings.description)).toEqual(Option.some(description))
        // Routing reads the costs from the same object.
        const provider = buildSnapshot(loaded, new Map(), 0).providers.get("p1")!
        expect([provider.costInput, provider.costOutput]).toEqual([0.15, 0.6])

        const again = yield* apply(text)
        expect([again.providersUnchanged, again.changed]).toEqual([["p1"], false])
        expect((yield* storedSettings)[0]!.updatedAt).toBe(row!.updatedAt)
      }).pipe(Effect.provide(TestEnv)),
  )

  it.live("a changed description is an update; one left out of the file is cleared", () =>
    Effect.gen(function* () {
      yield* apply(fileWith(`    description: first\n    region: eu`))
      const changed = yield* apply(fileWith(`    description: second\n    region: eu`))
      expect(changed.providersUpdated).toEqual(["p1"])
      expect((yield* storedSettings)[0]!.settings).toEqual({ description: "second", region: "eu" })
      const removed = yield* apply(fileWith(`    region: eu`))
      expect(removed.providersUpdated).toEqual(["p1"])
      expect((yield* storedSettings)[0]!.settings).toEqual({ region: "eu" })
    }).pipe(Effect.provide(TestEnv)),
  )

  it.effect("the file rejects a description over 1000 characters, naming the place", () =>
    Effect.gen(function* () {
      expect(
        (yield* parse(fileWith(`    description: ${"d".repeat(1000)}`))).providers[0]!.settings.description,
      ).toHaveLength(1000)
      const error = yield* Effect.flip(parse(fileWith(`    description: ${"d".repeat(1001)}`)))
      expect(error.message).toMatch(
        /^gateway\.yaml: line \d+, column \d+: providers\[0\]\.description: expected a string of at most 1000 characters$/,
      )
      const notText = yield* Effect.flip(parse(fileWith(`    description: [a, b]`)))
      expect(notText.message).toMatch(/providers\[0\]\.description: expected a string of at most 1000 characters$/)
    }),
  )

  it.live("migration 0006 moves region, costs and max_qps of existing rows into settings and drops the columns", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* ProviderRepository
      // Back to the schema before 0006, with providers as they were stored then.
      yield* sql`ALTER TABLE providers DROP COLUMN settings`
      yield* sql`ALTER TABLE providers ADD COLUMN region varchar(64), ADD COLUMN cost_input double precision,
                   ADD COLUMN cost_output double precision, ADD COLUMN max_qps integer`
      yield* sql`
        INSERT INTO providers (provider_id, name, base_url, region, cost_input, cost_output, max_qps, metadata, updated_at)
        VALUES ('full', 'full', 'http://127.0.0.1:9', 'us-east', 0.15, 0.6, 25, '{"source": "file"}'::jsonb, '2024-01-02T03:04:05Z'),
               ('partial', 'partial', 'http://127.0.0.1:9', '', NULL, 2, NULL, NULL, '2024-01-02T03:04:05Z'),
               ('none', 'none', 'http://127.0.0.1:9', NULL, NULL, NULL, NULL, NULL, '2024-01-02T03:04:05Z')`
      yield* migration0006

      const rows = yield* storedSettings
      expect(rows.map((r) => [r.id, r.settings])).toEqual([
        ["full", { region: "us-east", cost_input: 0.15, cost_output: 0.6, max_qps: 25 }],
        ["none", {}],
        ["partial", { cost_output: 2 }],
      ])
      expect(rows.map((r) => r.updatedAt)).toEqual(rows.map(() => Date.parse("2024-01-02T03:04:05Z")))
      const columns = yield* sql<{ name: string }>`
        SELECT column_name AS "name" FROM information_schema.columns
        WHERE table_name = 'providers' AND column_name IN ('region', 'cost_input', 'cost_output', 'max_qps', 'settings')`
      expect(columns.map((c) => c.name)).toEqual(["settings"])
      const loaded = yield* repo.loadAll
      expect(loaded.providers.find((p) => p.providerId === "full")!.settings).toEqual({
        region: "us-east",
        cost_input: 0.15,
        cost_output: 0.6,
        max_qps: 25,
      })
      // The same values from the file are no change: the migrated rows are what the import writes.
      const again = yield* apply(`
providers:
  - id: full
    name: full
    base_url: http://127.0.0.1:9
    region: us-east
    cost_input: 0.15
    cost_output: 0.6
    max_qps: 25
`)
      expect(again.providersUnchanged).toEqual(["full"])
    }).pipe(Effect.provide(FreshEnv)),
  )

  it.live("a stored value this version does not accept reads as not set, without losing the other settings", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* ProviderRepository
      yield* sql`
        INSERT INTO providers (provider_id, name, base_url, settings)
        VALUES ('odd', 'odd', 'http://127.0.0.1:9', ${JSON.stringify({ description: "kept", max_qps: -3, unknown: 1 })}::jsonb)`
      const loaded = yield* repo.loadAll
      expect(loaded.providers[0]!.settings).toEqual({ description: "kept" })
    }).pipe(Effect.provide(TestEnv)),
  )
})
