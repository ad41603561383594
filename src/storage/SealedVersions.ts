import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect } from "effect"

/** Rows sealed under one secret version: encrypted provider keys and headers, API-key hashes. */
export interface SealedCount {
  readonly what: "provider key" | "API key" | "provider headers"
  readonly version: number
  readonly count: number
}

/**
 * How many stored rows each secret version sealed (`Secrets`' version is a fingerprint of the
 * secret): what start-up compares with the secret it has, to notice a database written under
 * another one.
 */
export class SealedVersions extends Effect.Service<SealedVersions>()("gateway/storage/SealedVersions", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const counts: Effect.Effect<ReadonlyArray<SealedCount>, SqlError.SqlError> = sql<SealedCount>`
      SELECT 'provider key' AS what, key_version AS version, count(*)::int AS count FROM provider_api_keys GROUP BY key_version
      UNION ALL
      SELECT 'API key', key_version, count(*)::int FROM api_keys GROUP BY key_version
      UNION ALL
      SELECT 'provider headers', custom_headers_version, count(*)::int FROM providers
        WHERE custom_headers_version IS NOT NULL GROUP BY custom_headers_version`
    return { counts } as const
  }),
}) {}
