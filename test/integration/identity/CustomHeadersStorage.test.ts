import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import migration0004 from "../../../migrations/0004_custom_headers_encrypted.js"
import { Secrets } from "../../../src/crypto/Secrets.js"
import { ProviderAdminRepository } from "../../../src/storage/ProviderAdminRepository.js"
import { ProviderRepository, type ProviderWrite } from "../../../src/storage/ProviderRepository.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { FreshTestDatabase, TestDatabase } from "../../support/TestDatabase.js"

/** Issue 11, item 9: custom header values are encrypted at rest, and existing rows are converted. */
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
/** The migration test takes the schema back before migration 0004: a database of its own. */
const FreshEnv = envOn(FreshTestDatabase)

const SECRET = "sk-trace-secret-0123456789abcdefWXYZ"

const provider = (headers: Record<string, string>): ProviderWrite => ({
  providerId: "p1",
  name: "p1",
  protocol: "openai",
  baseUrl: "http://127.0.0.1:9",
  providerType: "native",
  weight: 1,
  enabled: true,
  settings: {},
  retryableStatusCodes: null,
  customHeaders: headers,
  modelsPath: null,
  chatPath: null,
  responsesPath: null,
  responsesDisabled: false,
  messagesPath: null,
  staticModels: null,
  metadata: null,
})

/** Every column of the providers table as text: what a database dump would show. */
const dump = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ row: string }>`SELECT providers::text AS row FROM providers`,
).pipe(Effect.map((rows) => rows.map((r) => r.row).join("\n")))

describe("custom headers at rest", () => {
  it.live("are stored encrypted, read back whole, and an unchanged write stays unchanged", () =>
    Effect.gen(function* () {
      const repo = yield* ProviderRepository
      const admin = yield* ProviderAdminRepository
      const headers = { "X-Trace": SECRET, "X-Team": "team-42" }
      expect((yield* repo.upsertProvider(provider(headers))).outcome).toBe("created")
      const stored = yield* dump
      expect(stored).not.toContain(SECRET)
      expect(stored).not.toContain("team-42")
      expect(stored).not.toContain("X-Trace")
      // The registry and administration read the plaintext.
      const rows = yield* repo.loadAll
      expect(rows.providers[0]!.customHeaders).toEqual(headers)
      const found = yield* admin.find("p1")
      expect(found._tag === "Some" && found.value.customHeaders).toEqual(headers)
      // The same map (in another order) is not a change; another value is.
      expect((yield* repo.upsertProvider(provider({ "X-Team": "team-42", "X-Trace": SECRET }))).outcome).toBe(
        "unchanged",
      )
      expect((yield* repo.upsertProvider(provider({ ...headers, "X-Team": "team-43" }))).outcome).toBe("updated")
      expect((yield* repo.upsertProvider(provider({}))).outcome).toBe("updated")
      expect((yield* repo.loadAll).providers[0]!.customHeaders).toEqual({})
    }).pipe(Effect.provide(TestEnv)),
  )

  it.live("migration 0004 encrypts the plaintext headers of existing rows and drops the plaintext column", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* ProviderRepository
      // Back to the schema before 0004, with a provider as it was stored then.
      yield* sql`ALTER TABLE providers DROP COLUMN custom_headers_encrypted, DROP COLUMN custom_headers_version`
      yield* sql`ALTER TABLE providers ADD COLUMN custom_headers jsonb NOT NULL DEFAULT '{}'::jsonb`
      yield* sql`
        INSERT INTO providers (provider_id, name, base_url, custom_headers)
        VALUES ('old', 'old', 'http://127.0.0.1:9', ${JSON.stringify({ "X-Trace": SECRET })}::jsonb),
               ('plain', 'plain', 'http://127.0.0.1:9', '{}'::jsonb)`
      yield* migration0004
      expect(yield* dump).not.toContain(SECRET)
      const rows = yield* repo.loadAll
      expect(Object.fromEntries(rows.providers.map((p) => [p.providerId, p.customHeaders]))).toEqual({
        old: { "X-Trace": SECRET },
        plain: {},
      })
    }).pipe(Effect.provide(FreshEnv)),
  )
})
