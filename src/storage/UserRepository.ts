import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Option, Schema } from "effect"
import { type Budget, budgetColumns } from "../shared/Budget.js"
import { renamed } from "../shared/Renamed.js"

/** SQL for the `users` table. Columns are aliased to camelCase explicitly. */

export interface UserRow {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly displayName: string | null
  readonly avatar: string | null
  readonly hashedPassword: string
  readonly isActive: boolean
  readonly isSuperuser: boolean
  /** Bumped by a new password or email: tokens issued under an older one are refused. */
  readonly tokenGeneration: number
  /** The user's spend limit as stored (`shared/Budget.budgetOfColumns` reads it). */
  readonly budgetNanoUsd: string | null
  readonly budgetPeriod: string | null
  readonly budgetSoft: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** A user as a token check sees it: the row, and whether the token's login was ended. */
export interface SessionUserRow extends UserRow {
  readonly familyRevoked: boolean
}

export interface UserInsert {
  readonly username: string
  readonly email: string
  readonly displayName: string | null
  readonly avatar: string | null
  readonly hashedPassword: string
  readonly isSuperuser: boolean
}

export interface UserPatch {
  readonly email?: string | undefined
  readonly displayName?: string | null | undefined
  readonly avatar?: string | null | undefined
  readonly hashedPassword?: string | undefined
  readonly isActive?: boolean | undefined
  /** Ends every login session of the user (their tokens' generation is now stale). */
  readonly bumpTokenGeneration?: boolean | undefined
  /** The user's spend limit; `null` removes it. */
  readonly budget?: Budget | null | undefined
}

/** The column of each `UserPatch` field (`bumpTokenGeneration` is no column: see `update`; `budget` is three: `budgetColumns`). */
const PATCH_COLUMNS = {
  email: "email",
  displayName: "display_name",
  avatar: "avatar",
  hashedPassword: "hashed_password",
  isActive: "is_active",
} as const satisfies { readonly [K in Exclude<keyof UserPatch, "bumpTokenGeneration" | "budget">]-?: string }

/** A unique constraint refused the write: which column. */
export class UniqueViolation extends Schema.TaggedError<UniqueViolation>()("UniqueViolation", {
  constraint: Schema.String,
}) {}

/** Postgres `unique_violation` → `UniqueViolation` naming the constraint; other SQL errors pass. */
export const catchUnique = <A, R>(effect: Effect.Effect<A, SqlError.SqlError, R>) =>
  Effect.catchIf(
    effect,
    (error) => (error.cause as { code?: unknown } | undefined)?.code === "23505",
    (error) =>
      Effect.fail(
        new UniqueViolation({ constraint: String((error.cause as { constraint?: unknown }).constraint ?? "") }),
      ),
  ) as Effect.Effect<A, SqlError.SqlError | UniqueViolation, R>

/** The first superuser and its API key, as `insertFirstSuperuser` writes them (hashes only). */
export interface FirstSuperuserInsert {
  readonly username: string
  readonly email: string
  readonly displayName: string
  readonly hashedPassword: string
  readonly apiKey: { readonly hash: string; readonly version: number; readonly prefix: string }
}

/** Arbitrary constant: serialises concurrent bootstraps (several instances starting at once). */
const BOOTSTRAP_LOCK = 7_140_001

export class UserRepository extends Effect.Service<UserRepository>()("gateway/storage/UserRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql`id, username, email, display_name AS "displayName", avatar, hashed_password AS "hashedPassword",
      is_active AS "isActive", is_superuser AS "isSuperuser", token_generation AS "tokenGeneration",
      budget_nanousd::text AS "budgetNanoUsd", budget_period AS "budgetPeriod", budget_soft AS "budgetSoft",
      created_at AS "createdAt", updated_at AS "updatedAt"`

    const insert = Effect.fn("UserRepository.insert")(function* (user: UserInsert) {
      const [row] = yield* catchUnique(sql<UserRow>`
        INSERT INTO users (username, email, display_name, avatar, hashed_password, is_superuser)
        VALUES (${user.username}, ${user.email}, ${user.displayName}, ${user.avatar}, ${user.hashedPassword}, ${user.isSuperuser})
        RETURNING ${columns}`)
      return row!
    })

    const findById = (id: string) =>
      sql<UserRow>`SELECT ${columns} FROM users WHERE id::text = ${id}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0])),
      )

    /**
     * The user a token names, and whether the token's login (`familyKey` in `revoked_tokens`)
     * was ended: one round trip per token check.
     */
    const findForSession = (id: string, familyKey: string) =>
      sql<SessionUserRow>`
        SELECT ${columns}, EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.id = ${familyKey}) AS "familyRevoked"
        FROM users WHERE id::text = ${id}`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    /** By username, or by email (case-insensitive for the email). */
    const findByLogin = (login: string) =>
      sql<UserRow>`
        SELECT ${columns} FROM users WHERE username = ${login} OR lower(email) = lower(${login})
        ORDER BY (username = ${login}) DESC LIMIT 1`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    const list = sql<UserRow>`SELECT ${columns} FROM users ORDER BY created_at, username`

    const update = Effect.fn("UserRepository.update")(function* (id: string, patch: UserPatch) {
      const set = {
        ...renamed(patch, PATCH_COLUMNS),
        ...(patch.budget === undefined ? {} : budgetColumns(patch.budget)),
      }
      if (Object.keys(set).length === 0 && !patch.bumpTokenGeneration) return yield* findById(id)
      const assignments =
        Object.keys(set).length === 0 ? sql`updated_at = now()` : sql`${sql.update(set)}, updated_at = now()`
      const rows = yield* catchUnique(
        patch.bumpTokenGeneration
          ? sql<UserRow>`
              UPDATE users SET ${assignments}, token_generation = token_generation + 1
              WHERE id::text = ${id} RETURNING ${columns}`
          : sql<UserRow>`UPDATE users SET ${assignments} WHERE id::text = ${id} RETURNING ${columns}`,
      )
      return Option.fromNullable(rows[0])
    })

    const count = sql<{ count: string | number }>`SELECT count(*) AS count FROM users`.pipe(
      Effect.map((rows) => Number(rows[0]?.count ?? 0)),
    )

    /**
     * Inserts the first superuser and its never-expiring API key, but only while `users` is
     * empty: one transaction under an advisory lock, so of several concurrent callers (instances
     * starting at once, racing `POST /system/admin/init`) exactly one inserts. The new user's id,
     * or `None` when a user already existed.
     */
    const insertFirstSuperuser = Effect.fn("UserRepository.insertFirstSuperuser")(function* (
      input: FirstSuperuserInsert,
    ) {
      return yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`
          const [{ count }] = yield* sql<{ count: number | string }>`SELECT count(*) AS count FROM users`
          if (Number(count) > 0) return Option.none<string>()
          const [user] = yield* sql<{ id: string }>`
            INSERT INTO users (username, email, display_name, hashed_password, is_superuser)
            VALUES (${input.username}, ${input.email}, ${input.displayName}, ${input.hashedPassword}, true)
            RETURNING id`
          yield* sql`
            INSERT INTO api_keys (user_id, name, key_hash, key_version, key_prefix, expiry_type)
            VALUES (${user!.id}, 'admin-default', ${input.apiKey.hash}, ${input.apiKey.version}, ${input.apiKey.prefix}, 'never')`
          return Option.some(user!.id)
        }),
      )
    })

    return { insert, findById, findForSession, findByLogin, list, update, count, insertFirstSuperuser } as const
  }),
}) {}
