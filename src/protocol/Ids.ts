import type { IdGenerator } from "./Canonical.js"

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/** Random ids (24 characters after the prefix), using the global Web Crypto. */
export const randomIds: IdGenerator = (prefix) => {
  const bytes = new Uint8Array(24)
  globalThis.crypto.getRandomValues(bytes)
  let s = prefix
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length]
  return s
}

/** Deterministic ids for tests: `prefix` + a per-generator counter. */
export const sequentialIds = (): IdGenerator => {
  let n = 0
  return (prefix) => `${prefix}${(++n).toString().padStart(4, "0")}`
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
