import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * SQL for `revoked_tokens`: ids (what an id means is `identity/Revocations`' business), each
 * kept until its `expires_at`.
 */
export class RevocationRepository extends Effect.Service<RevocationRepository>()(
  "gateway/storage/RevocationRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      /** Stores `id` until `expiresAt` (an existing entry's expiry is replaced). */
      const put = (id: string, expiresAt: Date) =>
        sql`
        INSERT INTO revoked_tokens (id, expires_at) VALUES (${id}, ${expiresAt})
        ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`.pipe(Effect.asVoid)

      /** Stores `id` unless it is there already: true when this call stored it (atomic: one INSERT). */
      const putIfAbsent = (id: string, expiresAt: Date) =>
        sql<{ id: string }>`
        INSERT INTO revoked_tokens (id, expires_at) VALUES (${id}, ${expiresAt})
        ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

      /** Deletes the entries whose expiry has passed. */
      const deleteExpired = sql`DELETE FROM revoked_tokens WHERE expires_at < now()`.pipe(Effect.asVoid)

      return { put, putIfAbsent, deleteExpired } as const
    }),
  },
) {}
