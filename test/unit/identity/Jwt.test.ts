import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Jwt from "../../../src/identity/Jwt.js"

const key = new Uint8Array(32).fill(7)
const otherKey = new Uint8Array(32).fill(9)
const now = 1_700_000_000

const token = (type: Jwt.TokenType, at = now) =>
  Jwt.sign(Jwt.newClaims({ sub: "user-1", type, nowSeconds: at, generation: 3 }), key)

const reason = (result: Either.Either<Jwt.Claims, Jwt.InvalidToken>) =>
  Either.isLeft(result) ? result.left.reason : "ok"

describe("Jwt", () => {
  it("round-trips an access token with jti, fam, type, iss, aud and a 30-minute expiry", () => {
    const claims = Either.getOrThrow(Jwt.verify(token("access"), [key], "access", now + 1))
    expect(claims.sub).toBe("user-1")
    expect(claims.type).toBe("access")
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/)
    expect(claims.gen).toBe(3)
    expect(claims.exp - claims.iat).toBe(30 * 60)
    expect(claims.iss).toBe(Jwt.ISSUER)
    expect(claims.aud).toBe(Jwt.AUDIENCE)
  })

  it("gives refresh tokens 7 days", () => {
    const claims = Either.getOrThrow(Jwt.verify(token("refresh"), [key], "refresh", now))
    expect(claims.exp - claims.iat).toBe(7 * 24 * 3600)
  })

  it("never takes a refresh token for an access token, or the reverse", () => {
    expect(reason(Jwt.verify(token("refresh"), [key], "access", now))).toBe("wrong_type")
    expect(reason(Jwt.verify(token("access"), [key], "refresh", now))).toBe("wrong_type")
  })

  it("refuses an expired token, exactly at its expiry", () => {
    expect(reason(Jwt.verify(token("access"), [key], "access", now + 30 * 60 - 1))).toBe("ok")
    expect(reason(Jwt.verify(token("access"), [key], "access", now + 30 * 60))).toBe("expired")
  })

  it("refuses another key's signature but accepts any configured key (rotation)", () => {
    expect(reason(Jwt.verify(token("access"), [otherKey], "access", now))).toBe("bad_signature")
    expect(reason(Jwt.verify(token("access"), [otherKey, key], "access", now))).toBe("ok")
  })

  it("refuses tampered payloads, alg=none and garbage", () => {
    const [h, p, s] = token("access").split(".")
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString())
    const forged = Buffer.from(JSON.stringify({ ...payload, sub: "admin" })).toString("base64url")
    expect(reason(Jwt.verify(`${h}.${forged}.${s}`, [key], "access", now))).toBe("bad_signature")
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")
    expect(reason(Jwt.verify(`${none}.${p}.`, [key], "access", now))).toBe("malformed")
    expect(reason(Jwt.verify("not-a-jwt", [key], "access", now))).toBe("malformed")
    expect(reason(Jwt.verify("a.b.c", [key], "access", now))).toBe("bad_signature")
  })

  it("refuses a token without the user's token generation (issued before generations existed)", () => {
    const [h, p] = token("access").split(".")
    const { gen: _, ...claims } = JSON.parse(Buffer.from(p!, "base64url").toString())
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url")
    const input = `${h}.${payload}`
    const signature = createHmac("sha256", key).update(input, "utf8").digest("base64url")
    expect(reason(Jwt.verify(`${input}.${signature}`, [key], "access", now))).toBe("malformed")
  })

  it("tells JWTs from API keys", () => {
    expect(Jwt.looksLikeJwt(token("access"))).toBe(true)
    expect(Jwt.looksLikeJwt("apx-AbCdEf0123456789_-xyz")).toBe(false)
  })
})
