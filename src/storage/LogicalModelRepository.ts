import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, Schema } from "effect"
import { type LogicalModelPolicy, policyFromStored } from "../shared/LogicalModelPolicy.js"

/**
 * Logical models for administration: the same `logical_models` / `logical_model_upstreams` rows
 * the providers-as-code import writes (ProviderRepository), so a logical model edited over the
 * API and one declared in the file are indistinguishable. The caller invalidates the registry.
 */

export interface LogicalModelRecord {
  readonly id: string
  readonly displayName: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: string
  readonly policy: LogicalModelPolicy
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly upstreams: ReadonlyArray<LogicalUpstreamRecord>
}

export interface LogicalUpstreamRecord {
  readonly providerId: string
  readonly modelId: string
  readonly weight: number
  readonly priority: number
}

export interface LogicalModelInput {
  readonly displayName: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: string
  readonly policy: LogicalModelPolicy
  readonly upstreams: ReadonlyArray<LogicalUpstreamRecord>
}

/** Some upstreams name providers that do not exist. */
export class UnknownProviders extends Schema.TaggedError<UnknownProviders>()("UnknownProviders", {
  providerIds: Schema.Array(Schema.String),
}) {}

/** A logical model with this id exists already. */
export class LogicalModelExists extends Schema.TaggedError<LogicalModelExists>()("LogicalModelExists", {
  id: Schema.String,
}) {}

interface ModelRow {
  readonly uuid: string
  readonly id: string
  readonly displayName: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: string
  readonly policy: unknown
  readonly createdAt: Date
  readonly updatedAt: Date
}

interface UpstreamRow extends LogicalUpstreamRecord {
  readonly uuid: string
}

export class LogicalModelRepository extends Effect.Service<LogicalModelRepository>()(
  "gateway/storage/LogicalModelRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const modelColumns = sql`
      id AS "uuid", logical_id AS "id", display_name AS "displayName", description, enabled, strategy, policy,
      created_at AS "createdAt", updated_at AS "updatedAt"`

      const withUpstreams = (models: ReadonlyArray<ModelRow>) =>
        Effect.gen(function* () {
          if (models.length === 0) return [] as ReadonlyArray<LogicalModelRecord>
          const rows = yield* sql<UpstreamRow>`
          SELECT logical_model_id AS "uuid", provider_id AS "providerId", model_id AS "modelId", weight, priority
          FROM logical_model_upstreams WHERE ${sql.in(
            "logical_model_id",
            models.map((m) => m.uuid),
          )}
          ORDER BY priority, provider_id, model_id`
          return models.map(
            ({ uuid, policy, ...model }): LogicalModelRecord => ({
              ...model,
              policy: policyFromStored(policy),
              upstreams: rows
                .filter((r) => r.uuid === uuid)
                .map((r) => ({
                  providerId: r.providerId,
                  modelId: r.modelId,
                  weight: Number(r.weight),
                  priority: r.priority,
                })),
            }),
          )
        })

      const list = Effect.fn("LogicalModelRepository.list")(function* () {
        return yield* withUpstreams(
          yield* sql<ModelRow>`SELECT ${modelColumns} FROM logical_models ORDER BY logical_id`,
        )
      })

      const find = Effect.fn("LogicalModelRepository.find")(function* (id: string) {
        const rows = yield* sql<ModelRow>`SELECT ${modelColumns} FROM logical_models WHERE logical_id = ${id}`
        const [model] = yield* withUpstreams(rows)
        return Option.fromNullable(model)
      })

      const checkProviders = (upstreams: ReadonlyArray<LogicalUpstreamRecord>) =>
        Effect.gen(function* () {
          const wanted = [...new Set(upstreams.map((u) => u.providerId))]
          if (wanted.length === 0) return
          const found = yield* sql<{ providerId: string }>`
          SELECT provider_id AS "providerId" FROM providers WHERE ${sql.in("provider_id", wanted)}`
          const known = new Set(found.map((r) => r.providerId))
          const missing = wanted.filter((id) => !known.has(id)).sort()
          if (missing.length > 0) return yield* new UnknownProviders({ providerIds: missing })
        })

      const writeUpstreams = (uuid: string, upstreams: ReadonlyArray<LogicalUpstreamRecord>) =>
        Effect.gen(function* () {
          yield* sql`DELETE FROM logical_model_upstreams WHERE logical_model_id = ${uuid}`
          for (const u of upstreams) {
            yield* sql`
            INSERT INTO logical_model_upstreams (logical_model_id, provider_id, model_id, weight, priority)
            VALUES (${uuid}, ${u.providerId}, ${u.modelId}, ${u.weight}, ${u.priority})`
          }
        })

      /** Creates the model; fails with LogicalModelExists or UnknownProviders. */
      const create = Effect.fn("LogicalModelRepository.create")(function* (id: string, input: LogicalModelInput) {
        yield* Effect.gen(function* () {
          yield* checkProviders(input.upstreams)
          const inserted = yield* sql<{ uuid: string }>`
          INSERT INTO logical_models (logical_id, display_name, description, enabled, strategy, policy)
          VALUES (${id}, ${input.displayName}, ${input.description}, ${input.enabled}, ${input.strategy}, ${JSON.stringify(input.policy)}::jsonb)
          ON CONFLICT (logical_id) DO NOTHING
          RETURNING id AS "uuid"`
          if (inserted[0] === undefined) return yield* new LogicalModelExists({ id })
          yield* writeUpstreams(inserted[0].uuid, input.upstreams)
        }).pipe(sql.withTransaction)
        return (yield* find(id)).pipe(Option.getOrThrow)
      })

      /** Replaces the model's settings and upstreams; None when it does not exist. */
      const replace = Effect.fn("LogicalModelRepository.replace")(function* (id: string, input: LogicalModelInput) {
        const updated = yield* Effect.gen(function* () {
          yield* checkProviders(input.upstreams)
          const rows = yield* sql<{ uuid: string }>`
          UPDATE logical_models SET display_name = ${input.displayName}, description = ${input.description},
            enabled = ${input.enabled}, strategy = ${input.strategy}, policy = ${JSON.stringify(input.policy)}::jsonb, updated_at = now()
          WHERE logical_id = ${id}
          RETURNING id AS "uuid"`
          if (rows[0] === undefined) return false
          yield* writeUpstreams(rows[0].uuid, input.upstreams)
          return true
        }).pipe(sql.withTransaction)
        return updated ? yield* find(id) : Option.none<LogicalModelRecord>()
      })

      /** Deletes the model (its upstreams cascade); false when it did not exist. */
      const remove = Effect.fn("LogicalModelRepository.remove")(function* (id: string) {
        const rows = yield* sql<{
          uuid: string
        }>`DELETE FROM logical_models WHERE logical_id = ${id} RETURNING id AS "uuid"`
        return rows.length > 0
      })

      return { list, find, create, replace, remove } as const
    }),
  },
) {}
