import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"

/**
 * Key material derived from SECRET_KEY.
 *
 * Every purpose gets its own HKDF-SHA256 sub-key (distinct `info` label), so a leak of one
 * (say the JWT key) tells nothing about the others.
 *
 * Versions: a stored ciphertext or hash carries the version of the root secret that produced
 * it. The version is a 31-bit fingerprint derived from the root secret itself (HKDF, its own
 * label), not a counter: any number of rotations need no extra configuration, and a version
 * never points at the wrong secret. Rotation: set SECRET_KEY to the new secret and
 * SECRET_KEY_PREVIOUS to the old one; both are read (dual-read), only the new one writes.
 * Rows whose version is not `currentVersion` can then be re-encrypted / re-hashed.
 */

const SALT = Buffer.from("apiproxy/hkdf-salt/v1", "utf8")
const INFO = {
  encryption: "apiproxy/encryption/v1",
  apiKeyHmac: "apiproxy/api-key-hmac/v1",
  jwt: "apiproxy/jwt/v1",
  keyPreference: "apiproxy/key-preference/v1",
  version: "apiproxy/key-version/v1",
} as const

const IV_BYTES = 12
const TAG_BYTES = 16
const API_TOKEN_BYTES = 32

/** Prefix of every client API token the gateway issues: recognisable in logs and secret scanners. */
export const API_TOKEN_PREFIX = "apx-"

export class DecryptError extends Schema.TaggedError<DecryptError>()("DecryptError", {
  version: Schema.Number,
  reason: Schema.Literal("unknown_key_version", "malformed", "authentication_failed"),
  message: Schema.String,
}) {}

export interface Encrypted {
  /** `iv (12 bytes) | GCM tag (16 bytes) | data`. */
  readonly ciphertext: Uint8Array
  readonly version: number
}

export interface ApiKeyHash {
  /** Lower-case hex HMAC-SHA256 of the token. */
  readonly hash: string
  readonly version: number
}

interface KeySet {
  readonly version: number
  readonly encryption: Buffer
  readonly apiKeyHmac: Buffer
  readonly jwt: Buffer
  readonly keyPreference: Buffer
}

const derive = (root: Buffer, info: string, length = 32): Buffer =>
  Buffer.from(hkdfSync("sha256", root, SALT, Buffer.from(info, "utf8"), length))

const deriveKeySet = (secret: Redacted.Redacted<string>): KeySet => {
  const root = Buffer.from(Redacted.value(secret), "utf8")
  const fingerprint = derive(root, INFO.version, 4).readUInt32BE(0) & 0x7fffffff
  return {
    // 0 is reserved as "no version"; Postgres `integer` holds 31 bits.
    version: fingerprint === 0 ? 1 : fingerprint,
    encryption: derive(root, INFO.encryption),
    apiKeyHmac: derive(root, INFO.apiKeyHmac),
    jwt: derive(root, INFO.jwt),
    keyPreference: derive(root, INFO.keyPreference),
  }
}

const hmacHex = (key: Buffer, input: string): string => createHmac("sha256", key).update(input, "utf8").digest("hex")

/**
 * The last characters of a secret, safe to show (e.g. `…a1b2` in a key list). Short secrets
 * show nothing: four characters of an eight-character secret would be half of it.
 */
export const maskedSuffix = (secret: Redacted.Redacted<string> | string): string => {
  const value = typeof secret === "string" ? secret : Redacted.value(secret)
  return value.length >= 16 ? value.slice(-4) : ""
}

/** A new client API token: `apx-` + 32 random bytes in base64url (43 characters). */
export const newApiToken = (): string => API_TOKEN_PREFIX + randomBytes(API_TOKEN_BYTES).toString("base64url")

export interface SecretsOptions {
  readonly secretKey: Redacted.Redacted<string>
  readonly previousSecretKey?: Redacted.Redacted<string> | undefined
}

/** Builds the service from root secrets; the layer reads them from AppConfig. */
export const makeSecrets = (options: SecretsOptions) => {
  const current = deriveKeySet(options.secretKey)
  const previous = options.previousSecretKey === undefined ? undefined : deriveKeySet(options.previousSecretKey)
  // Current first: it is the one that writes, and the likeliest to read.
  const keySets: ReadonlyArray<KeySet> =
    previous === undefined || previous.version === current.version ? [current] : [current, previous]
  const byVersion = (version: number): KeySet | undefined => keySets.find((k) => k.version === version)

  const encrypt = (plaintext: Redacted.Redacted<string>): Encrypted => {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv("aes-256-gcm", current.encryption, iv)
    const data = Buffer.concat([cipher.update(Redacted.value(plaintext), "utf8"), cipher.final()])
    const tag = cipher.getAuthTag()
    return { ciphertext: new Uint8Array(Buffer.concat([iv, tag, data])), version: current.version }
  }

  const decrypt = Effect.fn("Secrets.decrypt")(function* (ciphertext: Uint8Array, version: number) {
    const keys = byVersion(version)
    if (keys === undefined) {
      return yield* new DecryptError({
        version,
        reason: "unknown_key_version",
        message: `no secret with key version ${version} is configured (set SECRET_KEY_PREVIOUS to the secret it was written with)`,
      })
    }
    if (ciphertext.length < IV_BYTES + TAG_BYTES) {
      return yield* new DecryptError({ version, reason: "malformed", message: "ciphertext is too short" })
    }
    const bytes = Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength)
    const iv = bytes.subarray(0, IV_BYTES)
    const tag = bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES)
    const data = bytes.subarray(IV_BYTES + TAG_BYTES)
    const plaintext = yield* Effect.try({
      try: () => {
        const decipher = createDecipheriv("aes-256-gcm", keys.encryption, iv)
        decipher.setAuthTag(tag)
        return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8")
      },
      catch: () =>
        new DecryptError({
          version,
          reason: "authentication_failed",
          message: "ciphertext failed authentication (wrong secret or tampered data)",
        }),
    })
    return Redacted.make(plaintext)
  })

  const hashApiKey = (token: string): ApiKeyHash => ({
    hash: hmacHex(current.apiKeyHmac, token),
    version: current.version,
  })

  /** The token's hash under every configured secret, current first: look up any of them during a rotation. */
  const apiKeyHashCandidates = (token: string): ReadonlyArray<ApiKeyHash> =>
    keySets.map((k) => ({ hash: hmacHex(k.apiKeyHmac, token), version: k.version }))

  /** Constant-time check of a token against a stored hash; false for an unknown version. */
  const verifyApiKeyHash = (token: string, hash: string, version: number): boolean => {
    const keys = byVersion(version)
    if (keys === undefined) return false
    const expected = createHmac("sha256", keys.apiKeyHmac).update(token, "utf8").digest()
    const given = Buffer.from(hash, "hex")
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  /** Keyed hash for stable, non-reversible key-preference buckets (e.g. session → provider key). */
  const keyPreferenceHash = (input: string): string => hmacHex(current.keyPreference, input)

  return {
    /** The version new ciphertexts and hashes are written under. */
    currentVersion: current.version,
    /** Every readable version, current first. */
    versions: keySets.map((k) => k.version) as ReadonlyArray<number>,
    /** True when a stored value should be rewritten under the current secret. */
    needsRotation: (version: number): boolean => version !== current.version,
    encrypt,
    decrypt,
    hashApiKey,
    apiKeyHashCandidates,
    verifyApiKeyHash,
    /** HS256 key for signing new tokens. */
    jwtSigningKey: Redacted.make(new Uint8Array(current.jwt)) as Redacted.Redacted<Uint8Array>,
    /** Keys accepted when verifying a token, current first (dual-read during a rotation). */
    jwtVerificationKeys: keySets.map((k) => Redacted.make(new Uint8Array(k.jwt))) as ReadonlyArray<
      Redacted.Redacted<Uint8Array>
    >,
    keyPreferenceHash,
    newApiToken,
    maskedSuffix,
  } as const
}

export type SecretsShape = ReturnType<typeof makeSecrets>

export class Secrets extends Effect.Service<Secrets>()("gateway/crypto/Secrets", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    return makeSecrets({
      secretKey: config.secretKey,
      previousSecretKey: Option.getOrUndefined(config.secretKeyPrevious ?? Option.none()),
    })
  }),
  dependencies: [AppConfig.Default],
}) {
  /** A layer from explicit root secrets (tests, tools), bypassing AppConfig. */
  static readonly layerFrom = (options: SecretsOptions): Layer.Layer<Secrets> =>
    Layer.succeed(Secrets, Secrets.make(makeSecrets(options)))
}
