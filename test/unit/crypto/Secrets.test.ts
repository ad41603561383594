import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { API_TOKEN_PREFIX, makeSecrets, maskedSuffix, newApiToken, Secrets } from "../../../src/crypto/Secrets.js"

const OLD = Redacted.make("old-secret-old-secret-old-secret-0001")
const NEW = Redacted.make("new-secret-new-secret-new-secret-0002")
const providerKey = Redacted.make("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789")

describe("Secrets", () => {
  it.effect("encrypts and decrypts a provider key (AES-256-GCM round trip)", () =>
    Effect.gen(function* () {
      const secrets = makeSecrets({ secretKey: NEW })
      const { ciphertext, version } = secrets.encrypt(providerKey)
      expect(version).toBe(secrets.currentVersion)
      expect(Buffer.from(ciphertext).toString("utf8")).not.toContain("sk-proj")
      // iv | tag | data: 12 + 16 + plaintext length
      expect(ciphertext.length).toBe(12 + 16 + Redacted.value(providerKey).length)
      const plaintext = yield* secrets.decrypt(ciphertext, version)
      expect(Redacted.value(plaintext)).toBe(Redacted.value(providerKey))
    }),
  )

  it.effect("uses a fresh IV: the same plaintext encrypts differently", () =>
    Effect.sync(() => {
      const secrets = makeSecrets({ secretKey: NEW })
      const a = secrets.encrypt(providerKey)
      const b = secrets.encrypt(providerKey)
      expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false)
    }),
  )

  it.effect("fails to decrypt under a different secret", () =>
    Effect.gen(function* () {
      const { ciphertext, version } = makeSecrets({ secretKey: OLD }).encrypt(providerKey)
      const other = makeSecrets({ secretKey: NEW })
      const unknownVersion = yield* Effect.flip(other.decrypt(ciphertext, version))
      expect(unknownVersion.reason).toBe("unknown_key_version")
      // Even when the version is forged to match, GCM authentication rejects the wrong key.
      const forged = yield* Effect.flip(other.decrypt(ciphertext, other.currentVersion))
      expect(forged._tag).toBe("DecryptError")
      expect(forged.reason).toBe("authentication_failed")
    }),
  )

  it.effect("detects tampering (any flipped byte fails authentication)", () =>
    Effect.gen(function* () {
      const secrets = makeSecrets({ secretKey: NEW })
      const { ciphertext, version } = secrets.encrypt(providerKey)
      for (const index of [0, 13, ciphertext.length - 1]) {
        const tampered = Uint8Array.from(ciphertext)
        tampered[index] = tampered[index]! ^ 0x01
        const error = yield* Effect.flip(secrets.decrypt(tampered, version))
        expect(error.reason).toBe("authentication_failed")
      }
      const short = yield* Effect.flip(secrets.decrypt(ciphertext.subarray(0, 10), version))
      expect(short.reason).toBe("malformed")
    }),
  )

  it.effect("versions identify the root secret and are stable across restarts", () =>
    Effect.sync(() => {
      const a = makeSecrets({ secretKey: NEW })
      const b = makeSecrets({ secretKey: NEW })
      const c = makeSecrets({ secretKey: OLD })
      expect(a.currentVersion).toBe(b.currentVersion)
      expect(a.currentVersion).not.toBe(c.currentVersion)
      expect(Number.isInteger(a.currentVersion) && a.currentVersion > 0 && a.currentVersion < 2 ** 31).toBe(true)
      expect(a.encrypt(providerKey).version).toBe(a.currentVersion)
      expect(a.hashApiKey("apx-token").version).toBe(a.currentVersion)
    }),
  )

  it.effect("dual-reads values written under SECRET_KEY_PREVIOUS after a rotation", () =>
    Effect.gen(function* () {
      const before = makeSecrets({ secretKey: OLD })
      const stored = before.encrypt(providerKey)
      const token = newApiToken()
      const storedHash = before.hashApiKey(token)

      const after = makeSecrets({ secretKey: NEW, previousSecretKey: OLD })
      expect(after.currentVersion).not.toBe(stored.version)
      expect(after.needsRotation(stored.version)).toBe(true)
      const plaintext = yield* after.decrypt(stored.ciphertext, stored.version)
      expect(Redacted.value(plaintext)).toBe(Redacted.value(providerKey))
      expect(after.verifyApiKeyHash(token, storedHash.hash, storedHash.version)).toBe(true)
      expect(after.apiKeyHashCandidates(token).map((c) => c.hash)).toContain(storedHash.hash)
      expect(after.jwtVerificationKeys).toHaveLength(2)
      // New writes use the new secret only.
      const rewritten = after.encrypt(plaintext)
      expect(rewritten.version).toBe(after.currentVersion)
      expect(after.needsRotation(rewritten.version)).toBe(false)
      // Once the previous secret is dropped, old rows are unreadable.
      const error = yield* Effect.flip(makeSecrets({ secretKey: NEW }).decrypt(stored.ciphertext, stored.version))
      expect(error.reason).toBe("unknown_key_version")
    }),
  )

  it.effect("hashes API keys deterministically with HMAC-SHA256 and verifies in constant time", () =>
    Effect.sync(() => {
      const secrets = makeSecrets({ secretKey: NEW })
      const token = newApiToken()
      const first = secrets.hashApiKey(token)
      expect(first).toEqual(secrets.hashApiKey(token))
      expect(first.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(first.hash).not.toBe(makeSecrets({ secretKey: OLD }).hashApiKey(token).hash)
      expect(secrets.verifyApiKeyHash(token, first.hash, first.version)).toBe(true)
      expect(secrets.verifyApiKeyHash(token + "x", first.hash, first.version)).toBe(false)
      expect(secrets.verifyApiKeyHash(token, first.hash.slice(2), first.version)).toBe(false)
      expect(secrets.verifyApiKeyHash(token, "not hex", first.version)).toBe(false)
      expect(secrets.verifyApiKeyHash(token, first.hash, first.version + 1)).toBe(false)
    }),
  )

  it.effect("derives distinct sub-keys per purpose", () =>
    Effect.sync(() => {
      const secrets = makeSecrets({ secretKey: NEW })
      const jwt = Buffer.from(Redacted.value(secrets.jwtSigningKey))
      expect(jwt.length).toBe(32)
      const hmacOfEmpty = secrets.hashApiKey("").hash
      expect(jwt.toString("hex")).not.toBe(hmacOfEmpty)
      expect(secrets.keyPreferenceHash("session-1")).not.toBe(secrets.hashApiKey("session-1").hash)
      expect(secrets.keyPreferenceHash("session-1")).toBe(secrets.keyPreferenceHash("session-1"))
      expect(String(secrets.jwtSigningKey)).not.toContain(jwt.toString("hex"))
    }),
  )

  it("issues recognisable, random API tokens", () => {
    const a = newApiToken()
    const b = newApiToken()
    expect(a.startsWith(API_TOKEN_PREFIX)).toBe(true)
    expect(a).not.toBe(b)
    expect(Buffer.from(a.slice(API_TOKEN_PREFIX.length), "base64url").length).toBeGreaterThanOrEqual(32)
    expect(a).toMatch(/^apx-[A-Za-z0-9_-]{43}$/)
  })

  it("masks secrets to a short suffix", () => {
    expect(maskedSuffix(providerKey)).toBe("6789")
    expect(maskedSuffix("sk-short")).toBe("")
  })

  it.effect("the service layer reads SECRET_KEY and SECRET_KEY_PREVIOUS from the environment", () =>
    Effect.gen(function* () {
      const old = makeSecrets({ secretKey: OLD }).encrypt(providerKey)
      const secrets = yield* Secrets
      expect(secrets.currentVersion).toBe(makeSecrets({ secretKey: NEW }).currentVersion)
      const plaintext = yield* secrets.decrypt(old.ciphertext, old.version)
      expect(Redacted.value(plaintext)).toBe(Redacted.value(providerKey))
    }).pipe(
      Effect.provide(
        Secrets.Default.pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([
                  ["SECRET_KEY", Redacted.value(NEW)],
                  ["SECRET_KEY_PREVIOUS", Redacted.value(OLD)],
                ]),
              ),
            ),
          ),
        ),
      ),
    ),
  )

  it.effect("layerFrom builds the service from explicit secrets", () =>
    Effect.gen(function* () {
      const secrets = yield* Secrets
      const exit = yield* Effect.exit(secrets.decrypt(secrets.encrypt(providerKey).ciphertext, secrets.currentVersion))
      expect(Exit.isSuccess(exit)).toBe(true)
    }).pipe(Effect.provide(Secrets.layerFrom({ secretKey: NEW }))),
  )
})
