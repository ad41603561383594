import { Effect } from "effect"
import { Kv } from "../storage/Kv.js"
import { REFRESH_TOKEN_SECONDS } from "./Jwt.js"

/**
 * The JWT revocation list, in Kv so every instance sees it at once. Entries expire with the
 * longest-lived token they can concern, so the list never grows without bound.
 *
 * - a revoked family: every token of one login (logout, refresh-token reuse);
 * - a used refresh token: rotation makes each refresh token single-use;
 * - a user's "not before": tokens issued earlier are dead (password change).
 */
const FAMILY = (family: string) => `auth:jwt:family-revoked:${family}`
const USED = (jti: string) => `auth:jwt:refresh-used:${jti}`
const NOT_BEFORE = (userId: string) => `auth:jwt:not-before:${userId}`
const LIFETIME = `${REFRESH_TOKEN_SECONDS} seconds` as const

export class Revocations extends Effect.Service<Revocations>()("gateway/identity/Revocations", {
  effect: Effect.gen(function* () {
    const kv = yield* Kv

    const revokeFamily = (family: string) => kv.set(FAMILY(family), "1", LIFETIME)

    /** True the first time for a given refresh token, false on every reuse (atomic: SET NX). */
    const claimRefresh = (jti: string, expiresInSeconds: number) =>
      kv.setIfAbsent(USED(jti), "1", `${Math.max(1, Math.ceil(expiresInSeconds))} seconds`)

    /** Tokens of `userId` issued before `atMillis` are refused from now on. */
    const revokeUserBefore = (userId: string, atMillis: number) => kv.set(NOT_BEFORE(userId), String(atMillis), LIFETIME)

    /** Whether a token (its family, its user, its issue time in seconds) is still allowed. */
    const isRevoked = (token: { readonly fam: string; readonly sub: string; readonly iat: number }) =>
      Effect.map(kv.getMany([FAMILY(token.fam), NOT_BEFORE(token.sub)]), ([family, notBefore]) => {
        if (family !== undefined) return true
        return notBefore !== undefined && token.iat * 1000 < Number(notBefore)
      })

    return { revokeFamily, claimRefresh, revokeUserBefore, isRevoked } as const
  }),
}) {}
