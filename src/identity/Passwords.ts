import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto"
import { promisify } from "node:util"
import { Effect } from "effect"

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>

const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const KEY_LENGTH = 32

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url; a fresh salt per password. */
export const hashPassword = (password: string) =>
  Effect.promise(async () => {
    const salt = randomBytes(16)
    const hash = await scrypt(password, salt, KEY_LENGTH, PARAMS)
    return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64url")}$${hash.toString("base64url")}`
  })

export const verifyPassword = (password: string, stored: string) =>
  Effect.promise(async () => {
    const [scheme, n, r, p, salt, hash] = stored.split("$")
    if (scheme !== "scrypt" || !salt || !hash) return false
    const expected = Buffer.from(hash, "base64url")
    const actual = await scrypt(password, Buffer.from(salt, "base64url"), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: PARAMS.maxmem,
    })
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  })

/**
 * A stored form no password matches, with today's parameters: checking a password against it costs
 * as much as a real check (the same scrypt), so an unknown user's login takes as long as a known
 * one's. Nothing is hashed to make it: a start ran a whole scrypt for it before, and the 16 MB that
 * scrypt took on a libuv thread stayed in that thread's malloc arena for the life of the process.
 */
export const unmatchableHash = `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${Buffer.alloc(16).toString("base64url")}$${Buffer.alloc(KEY_LENGTH).toString("base64url")}`

/** A random password for generated accounts: 16 bytes, URL-safe. */
export const generatePassword = (): string => randomBytes(16).toString("base64url")
