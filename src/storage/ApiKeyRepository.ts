import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import { type Budget, budgetColumns, budgetOfColumns } from "../shared/Budget.js"
import { renamed } from "../shared/Renamed.js"
import { catchUnique } from "./UserRepository.js"

/** SQL for `api_keys` and `api_key_allowed_providers`. Stores HMAC hashes only, never a token. */

export interface ApiKeyRow {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly keyPrefix: string
  readonly expiryType: string
  readonly expiresAt: Date | null
  readonly isActive: boolean
  readonly hasProviderRestrictions: boolean
  readonly requestsPerMinute: number | null
  readonly tokensPerMinute: number | null
  /** The key's spend limit, if it has one. */
  readonly budget: Budget | undefined
  /** The request log keeps this key's request and response bodies. */
  readonly logBodies: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
  /** Sorted. Meaningful only when `hasProviderRestrictions`; empty then means "no provider". */
  readonly allowedProviderIds: ReadonlyArray<string>
}

export interface ApiKeyInsert {
  readonly userId: string
  readonly name: string
  readonly keyHash: string
  readonly keyVersion: number
  readonly keyPrefix: string
  readonly expiryType: string
  readonly expiresAt: Date | null
  readonly requestsPerMinute: number | null
  readonly tokensPerMinute: number | null
  readonly budget: Budget | null
  readonly logBodies: boolean
}

export interface ApiKeyPatch {
  readonly name?: string | undefined
  readonly expiryType?: string | undefined
  readonly expiresAt?: Date | null | undefined
  readonly isActive?: boolean | undefined
  readonly requestsPerMinute?: number | null | undefined
  readonly tokensPerMinute?: number | null | undefined
  /** `null` removes the budget. */
  readonly budget?: Budget | null | undefined
  readonly logBodies?: boolean | undefined
}

/** The column of each `ApiKeyPatch` field (`budget` is three: see `budgetColumns`). */
const PATCH_COLUMNS = {
  name: "name",
  expiryType: "expiry_type",
  expiresAt: "expires_at",
  isActive: "is_active",
  requestsPerMinute: "requests_per_minute",
  tokensPerMinute: "tokens_per_minute",
  logBodies: "log_bodies",
} as const satisfies { readonly [K in Exclude<keyof ApiKeyPatch, "budget">]-?: string }

/**
 * What verifying an API key needs to know, in one query: the key, its owner's state and its
 * provider allow-list (`allowed`: a JSON array, as text on some drivers).
 */
export interface ApiKeyAuthRow {
  readonly id: string
  readonly user_id: string
  readonly username: string
  readonly expires_at: Date | string | null
  readonly is_active: boolean
  readonly user_active: boolean
  readonly is_superuser: boolean
  readonly has_provider_restrictions: boolean
  readonly requests_per_minute: number | null
  readonly tokens_per_minute: number | null
  readonly allowed: ReadonlyArray<string> | string | null
  /** The key's budget columns and its user's (see `budgetColumns`). */
  readonly key_budget_nanousd: string | null
  readonly key_budget_period: string | null
  readonly key_budget_soft: boolean
  readonly user_budget_nanousd: string | null
  readonly user_budget_period: string | null
  readonly user_budget_soft: boolean
  readonly log_bodies: boolean
}

const parseList = (value: unknown): ReadonlyArray<string> => {
  const list = typeof value === "string" ? (JSON.parse(value) as unknown) : value
  return Array.isArray(list) ? (list as Array<string>).slice().sort() : []
}

export class ApiKeyRepository extends Effect.Service<ApiKeyRepository>()("gateway/storage/ApiKeyRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const select = sql`
      SELECT k.id, k.user_id AS "userId", k.name, k.key_prefix AS "keyPrefix", k.expiry_type AS "expiryType",
             k.expires_at AS "expiresAt", k.is_active AS "isActive",
             k.has_provider_restrictions AS "hasProviderRestrictions",
             k.requests_per_minute AS "requestsPerMinute", k.tokens_per_minute AS "tokensPerMinute",
             k.budget_nanousd::text AS "budgetNanoUsd", k.budget_period AS "budgetPeriod", k.budget_soft AS "budgetSoft",
             k.log_bodies AS "logBodies",
             k.created_at AS "createdAt", k.updated_at AS "updatedAt",
             COALESCE((SELECT json_agg(a.provider_id ORDER BY a.provider_id) FROM api_key_allowed_providers a
                       WHERE a.api_key_id = k.id), '[]'::json) AS "allowedProviderIds"
      FROM api_keys k`
    type Selected = Omit<ApiKeyRow, "budget"> & {
      readonly budgetNanoUsd: string | null
      readonly budgetPeriod: string | null
      readonly budgetSoft: boolean
    }
    const toRow = ({ budgetNanoUsd, budgetPeriod, budgetSoft, ...row }: Selected): ApiKeyRow => ({
      ...row,
      budget: budgetOfColumns(budgetNanoUsd, budgetPeriod, budgetSoft),
      allowedProviderIds: parseList(row.allowedProviderIds),
    })

    const get = (userId: string, keyId: string) =>
      sql<Selected>`${select} WHERE k.user_id::text = ${userId} AND k.id::text = ${keyId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRow)),
      )

    const list = (userId: string) =>
      sql<Selected>`${select} WHERE k.user_id::text = ${userId} ORDER BY k.created_at, k.name`.pipe(
        Effect.map((rows) => rows.map(toRow)),
      )

    /** Replaces the allow-list: `null` lifts the restriction, `[]` restricts to no provider at all. */
    const setAllowed = Effect.fn("ApiKeyRepository.setAllowed")(function* (
      keyId: string,
      providerIds: ReadonlyArray<string> | null,
    ) {
      yield* sql`DELETE FROM api_key_allowed_providers WHERE api_key_id = ${keyId}`
      for (const providerId of providerIds ?? []) {
        yield* sql`INSERT INTO api_key_allowed_providers (api_key_id, provider_id) VALUES (${keyId}, ${providerId})`
      }
      yield* sql`
        UPDATE api_keys SET has_provider_restrictions = ${providerIds !== null}, updated_at = now() WHERE id = ${keyId}`
    })

    const insert = Effect.fn("ApiKeyRepository.insert")(function* (
      key: ApiKeyInsert,
      allowed: ReadonlyArray<string> | null,
    ) {
      return yield* Effect.gen(function* () {
        const [created] = yield* catchUnique(sql<{ id: string }>`
          INSERT INTO api_keys ${sql.insert({
            user_id: key.userId,
            name: key.name,
            key_hash: key.keyHash,
            key_version: key.keyVersion,
            key_prefix: key.keyPrefix,
            expiry_type: key.expiryType,
            expires_at: key.expiresAt,
            requests_per_minute: key.requestsPerMinute,
            tokens_per_minute: key.tokensPerMinute,
            log_bodies: key.logBodies,
            ...budgetColumns(key.budget),
          })}
          RETURNING id`)
        yield* setAllowed(created!.id, allowed)
        return created!.id
      }).pipe(sql.withTransaction)
    })

    const update = Effect.fn("ApiKeyRepository.update")(function* (
      keyId: string,
      patch: ApiKeyPatch,
      allowed: ReadonlyArray<string> | null | undefined,
    ) {
      yield* Effect.gen(function* () {
        const set = {
          ...renamed(patch, PATCH_COLUMNS),
          ...(patch.budget === undefined ? {} : budgetColumns(patch.budget)),
        }
        if (Object.keys(set).length > 0) {
          yield* catchUnique(sql`UPDATE api_keys SET ${sql.update(set)}, updated_at = now() WHERE id = ${keyId}`)
        }
        if (allowed !== undefined) yield* setAllowed(keyId, allowed)
      }).pipe(sql.withTransaction)
    })

    /** Removes one provider from the allow-list; the key stays restricted (possibly to nothing, never to "all"). */
    const removeAllowed = (keyId: string, providerId: string) =>
      sql`DELETE FROM api_key_allowed_providers WHERE api_key_id = ${keyId} AND provider_id = ${providerId}`.pipe(
        Effect.asVoid,
      )

    const remove = (keyId: string) =>
      sql<{ id: string }>`DELETE FROM api_keys WHERE id = ${keyId} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
      )

    /** Which of `ids` are not provider ids. */
    const unknownProviders = (ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed([] as ReadonlyArray<string>)
        : sql<{
            providerId: string
          }>`SELECT provider_id AS "providerId" FROM providers WHERE ${sql.in("provider_id", ids)}`.pipe(
            Effect.map((rows) => {
              const known = new Set(rows.map((r) => r.providerId))
              return ids.filter((id) => !known.has(id))
            }),
          )

    /**
     * The key whose HMAC hash is one of `hashes` (one per secret version during a rotation), with
     * its owner. On the request path (behind `identity/ApiKeyAuth`'s cache), hence untraced.
     */
    const findForAuth = Effect.fnUntraced(function* (hashes: ReadonlyArray<string>) {
      const rows = yield* sql<ApiKeyAuthRow>`
        SELECT k.id, k.user_id, u.username, k.expires_at, k.is_active, u.is_active AS user_active,
               u.is_superuser, k.has_provider_restrictions, k.requests_per_minute, k.tokens_per_minute,
               k.budget_nanousd::text AS key_budget_nanousd, k.budget_period AS key_budget_period, k.budget_soft AS key_budget_soft,
               u.budget_nanousd::text AS user_budget_nanousd, u.budget_period AS user_budget_period, u.budget_soft AS user_budget_soft,
               k.log_bodies,
               COALESCE((SELECT json_agg(a.provider_id) FROM api_key_allowed_providers a WHERE a.api_key_id = k.id), '[]'::json) AS allowed
        FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.key_hash IN ${sql.in(hashes)}
        LIMIT 1`
      return rows[0]
    })

    return { get, list, insert, update, setAllowed, removeAllowed, remove, unknownProviders, findForAuth } as const
  }),
}) {}
