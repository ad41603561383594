import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** One stored response (migrations/0007): where it lives, and for the gateway's own, what it holds. */
export interface ResponseRow {
  readonly id: string
  /** Whose it is (`conversation/ResponseStore.responseOwner`): nobody else may read or delete it. */
  readonly owner: string
  /** The provider that holds it natively; `null`: the gateway holds it (`response`, `inputItems`). */
  readonly provider: string | null
  /** The provider key that created it natively (the follow-up prefers it). */
  readonly providerKeyId: string | null
  readonly model: string
  /** The response object, as JSON text. */
  readonly response: string | null
  /** Every input item of the turn (earlier turns included), as a JSON array's text. */
  readonly inputItems: string | null
  readonly bytes: number
  /** `null`: kept forever. */
  readonly expiresAt: Date | null
}

const COLUMNS = `id, owner, provider, provider_key_id AS "providerKeyId", model, response, input_items AS "inputItems", bytes, expires_at AS "expiresAt"`

/** SQL for `responses`. What a row means, its size cap and retention are `conversation/ResponseStore`'s. */
export class ResponseRepository extends Effect.Service<ResponseRepository>()("gateway/storage/ResponseRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)

    /**
     * Stores `row`. An id already stored for the same owner is replaced; one stored for another
     * owner is left alone (false): an id never changes hands.
     */
    const put = (row: ResponseRow) =>
      sql<{ id: string }>`
        INSERT INTO responses (id, owner, provider, provider_key_id, model, response, input_items, bytes, expires_at)
        VALUES (${row.id}, ${row.owner}, ${row.provider}, ${row.providerKeyId}, ${row.model}, ${row.response},
                ${row.inputItems}, ${row.bytes}, ${row.expiresAt})
        ON CONFLICT (id) DO UPDATE SET
          provider = EXCLUDED.provider, provider_key_id = EXCLUDED.provider_key_id, model = EXCLUDED.model,
          response = EXCLUDED.response, input_items = EXCLUDED.input_items, bytes = EXCLUDED.bytes,
          expires_at = EXCLUDED.expires_at, created_at = now()
        WHERE responses.owner = EXCLUDED.owner
        RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

    /** `owner`'s response `id`, unless it expired before `now`. */
    const find = (owner: string, id: string, now: Date) =>
      sql<ResponseRow>`
        SELECT ${columns} FROM responses
        WHERE id = ${id} AND owner = ${owner} AND (expires_at IS NULL OR expires_at > ${now})`.pipe(
        Effect.map((rows) => rows[0]),
      )

    /** Deletes `owner`'s response `id`: true when there was one (expired ones count as gone). */
    const remove = (owner: string, id: string, now: Date) =>
      sql<{ id: string }>`
        DELETE FROM responses WHERE id = ${id} AND owner = ${owner} AND (expires_at IS NULL OR expires_at > ${now})
        RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

    /** Deletes every response expired before `now`; how many. */
    const deleteExpired = (now: Date) =>
      sql<{ n: number }>`
        WITH gone AS (DELETE FROM responses WHERE expires_at <= ${now} RETURNING 1)
        SELECT count(*)::int AS n FROM gone`.pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    return { put, find, remove, deleteExpired } as const
  }),
}) {}
