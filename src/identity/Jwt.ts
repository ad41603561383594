import { createHmac, randomUUID, timingSafeEqual } from "node:crypto"
import { Either, Schema } from "effect"

/**
 * HS256 JSON Web Tokens, with node:crypto only. The gateway issues two kinds — `access`
 * (30 minutes) and `refresh` (7 days) — and a verifier always names the kind it accepts, so one
 * is never taken for the other. Every token has a `jti` (revocation), `fam` (the login it
 * descends from: logout and refresh-token reuse revoke the whole family), `gen` (the user's token
 * generation when it was issued: a new password or email bumps it), `iss` and `aud`.
 */

export type TokenType = "access" | "refresh"

export const ISSUER = "apiproxy"
export const AUDIENCE = "apiproxy-management"
export const ACCESS_TOKEN_SECONDS = 30 * 60
export const REFRESH_TOKEN_SECONDS = 7 * 24 * 60 * 60

export interface Claims {
  readonly sub: string
  readonly jti: string
  readonly fam: string
  readonly gen: number
  readonly type: TokenType
  readonly iat: number
  readonly exp: number
  readonly iss: string
  readonly aud: string
}

const ClaimsSchema = Schema.Struct({
  sub: Schema.String.pipe(Schema.minLength(1)),
  jti: Schema.String.pipe(Schema.minLength(1)),
  fam: Schema.String.pipe(Schema.minLength(1)),
  gen: Schema.Int,
  type: Schema.Literal("access", "refresh"),
  iat: Schema.Number,
  exp: Schema.Number,
  iss: Schema.Literal(ISSUER),
  aud: Schema.Literal(AUDIENCE),
})
const decodeClaims = Schema.decodeUnknownEither(ClaimsSchema)

export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", {
  reason: Schema.Literal("malformed", "bad_signature", "expired", "wrong_type", "revoked"),
  message: Schema.String,
}) {}

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")

const signature = (key: Uint8Array, input: string): Buffer => createHmac("sha256", key).update(input, "utf8").digest()

/** Looks like a JWT (three base64url segments): tells a JWT apart from an API key without verifying. */
export const looksLikeJwt = (token: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)

/** Claims of a new token of `type` for user `sub`, issued at `nowSeconds`. */
export const newClaims = (options: {
  readonly sub: string
  readonly type: TokenType
  readonly nowSeconds: number
  readonly family?: string | undefined
  /** The user's token generation (`users.token_generation`). */
  readonly generation: number
}): Claims => ({
  sub: options.sub,
  jti: randomUUID(),
  fam: options.family ?? randomUUID(),
  gen: options.generation,
  type: options.type,
  iat: options.nowSeconds,
  exp: options.nowSeconds + (options.type === "access" ? ACCESS_TOKEN_SECONDS : REFRESH_TOKEN_SECONDS),
  iss: ISSUER,
  aud: AUDIENCE,
})

export const sign = (claims: Claims, key: Uint8Array): string => {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url")
  const input = `${HEADER}.${payload}`
  return `${input}.${signature(key, input).toString("base64url")}`
}

const fail = (reason: InvalidToken["reason"], message: string) => Either.left(new InvalidToken({ reason, message }))

/**
 * Checks signature (against every key, current first: dual-read during a secret rotation),
 * header, claims, expiry and kind. Pure; revocation is the caller's business.
 */
export const verify = (
  token: string,
  keys: ReadonlyArray<Uint8Array>,
  expected: TokenType,
  nowSeconds: number,
): Either.Either<Claims, InvalidToken> => {
  const parts = token.split(".")
  if (parts.length !== 3 || !looksLikeJwt(token)) return fail("malformed", "not a JWT")
  const [header, payload, given] = parts as [string, string, string]
  const input = `${header}.${payload}`
  const givenBytes = Buffer.from(given, "base64url")
  const matches = keys.some((key) => {
    const expectedBytes = signature(key, input)
    return expectedBytes.length === givenBytes.length && timingSafeEqual(expectedBytes, givenBytes)
  })
  if (!matches) return fail("bad_signature", "signature does not verify")
  let parsedHeader: unknown
  let parsedPayload: unknown
  try {
    parsedHeader = JSON.parse(Buffer.from(header, "base64url").toString("utf8"))
    parsedPayload = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  } catch {
    return fail("malformed", "header or payload is not JSON")
  }
  // Signed by us, but never trust `alg` blindly: only HS256 is issued.
  if (
    typeof parsedHeader !== "object" ||
    parsedHeader === null ||
    (parsedHeader as { alg?: unknown }).alg !== "HS256"
  ) {
    return fail("malformed", "unsupported algorithm")
  }
  const claims = decodeClaims(parsedPayload)
  if (Either.isLeft(claims)) return fail("malformed", "claims are incomplete")
  if (claims.right.exp <= nowSeconds) return fail("expired", "token expired")
  if (claims.right.type !== expected) return fail("wrong_type", `expected a ${expected} token`)
  return Either.right(claims.right)
}
