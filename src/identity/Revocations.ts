import { Duration, Effect } from "effect"
import { RevocationRepository } from "../storage/RevocationRepository.js"
import { REFRESH_TOKEN_SECONDS } from "./Jwt.js"

/**
 * The JWT revocation list, in the database (`revoked_tokens`), so it survives restarts in every
 * mode and every instance sees it at once. Entries expire with the longest-lived token they can
 * concern and are pruned hourly, so the table never grows without bound.
 *
 * - a revoked family (`family:<fam>`): every token of one login (logout, refresh-token reuse);
 * - a used refresh token (`refresh:<jti>`): rotation makes each refresh token single-use.
 *
 * Tokens issued before a password or email change are refused by the user's token generation
 * (`users.token_generation`, read with the user on every check), not by an entry here.
 */
const FAMILY = (family: string) => `family:${family}`
const USED = (jti: string) => `refresh:${jti}`
const PRUNE_INTERVAL = Duration.hours(1)

export class Revocations extends Effect.Service<Revocations>()("gateway/identity/Revocations", {
  scoped: Effect.gen(function* () {
    const repository = yield* RevocationRepository

    const until = (seconds: number) => new Date(Date.now() + Math.max(1, Math.ceil(seconds)) * 1000)

    /**
     * Ends a login: its refresh tokens can be rotated for at most REFRESH_TOKEN_SECONDS from now,
     * so the entry is kept that long.
     */
    const revokeFamily = (family: string) => repository.put(FAMILY(family), until(REFRESH_TOKEN_SECONDS))

    /** True the first time for a given refresh token, false on every reuse (atomic: one INSERT). */
    const claimRefresh = (jti: string, expiresInSeconds: number) =>
      repository.putIfAbsent(USED(jti), until(expiresInSeconds))

    /** The key under which a family's revocation is stored (read together with the user). */
    const familyKey = FAMILY

    const prune = repository.deleteExpired.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("expired token revocations not pruned").pipe(Effect.annotateLogs({ reason: error.message })),
      ),
    )
    yield* prune.pipe(Effect.zipLeft(Effect.sleep(PRUNE_INTERVAL)), Effect.forever, Effect.forkScoped)

    return { revokeFamily, claimRefresh, familyKey, prune } as const
  }),
  dependencies: [RevocationRepository.Default],
}) {}
