/**
 * Choosing one of a provider's keys, with the state shared across instances through Kv (so every
 * instance skips a key another one saw rejected; docs/ARCHITECTURE.md, "Failure state"):
 *
 * - keys in backoff are skipped; backoff = base × 2^min(failures, 5), base 1 s for retryable
 *   failures and 5 s otherwise, at least 30 s after a 401/403, capped at 60 s; a rate limit
 *   with Retry-After backs the key off for exactly that long (the provider said when);
 * - a rejected key (401/403) is backed off for every model; a rate limit or a Retry-After backs
 *   the key off for the model it was about only (providers rate-limit per model), so another
 *   model on the same key is not held back;
 * - panic mode (the request has nowhere else to go): a key in a backoff the gateway chose itself
 *   is used anyway, the one whose backoff ends first; a backoff the provider asked for with
 *   Retry-After is kept, and the caller learns how long is left;
 * - keys are grouped in tiers by preference score (a tier takes every key within 0.05 of its
 *   best); within a tier the choice is weighted random by key weight;
 * - `maxQps` is enforced per key per second across instances (Kv INCR on a per-second bucket
 *   keyed by the key id, never by its label: labels may repeat and change);
 * - preference: +0.5 on success, −1 / −2 / −3 (retryable / fatal / auth) on failure, clamped to
 *   [0.1, 10], drifting back to 1 with age so a key that failed long ago gets traffic again.
 *   Keys with no history are not written on success, so healthy keys share one tier.
 */
import { Clock, Duration, Effect, Option, Random, Schema } from "effect"
import type { Provider, ProviderKey } from "../registry/Provider.js"
import { Kv, type KvError } from "../storage/Kv.js"
import { kvRecord } from "../storage/KvRecord.js"
import type { KeyFailureKind } from "./RetryPolicy.js"
import { decayFactor } from "./Scoring.js"

export const KeyState = Schema.Struct({
  failCount: Schema.Number,
  backoffUntil: Schema.Number,
  preference: Schema.Number,
  updatedAt: Schema.Number,
  /** The backoff is the provider's Retry-After (not one the gateway chose). */
  providerSaid: Schema.optional(Schema.Boolean),
})
export type KeyState = typeof KeyState.Type

export interface KeyPoolConfig {
  readonly retryableBaseMs: number
  readonly fatalBaseMs: number
  readonly authMinMs: number
  readonly maxBackoffMs: number
  readonly maxExponent: number
  readonly tierBand: number
  readonly minPreference: number
  readonly maxPreference: number
  /** Preference drifts back to 1, halving its distance every this long. */
  readonly preferenceHalfLifeMs: number
  readonly minKeyWeight: number
}

export const defaultKeyPoolConfig: KeyPoolConfig = {
  retryableBaseMs: 1_000,
  fatalBaseMs: 5_000,
  authMinMs: 30_000,
  maxBackoffMs: 60_000,
  maxExponent: 5,
  tierBand: 0.05,
  minPreference: 0.1,
  maxPreference: 10,
  preferenceHalfLifeMs: 10 * 60_000,
  minKeyWeight: 0.0001,
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** Backoff after the `failCount`-th consecutive failure of a key. */
export const keyBackoffMs = (
  failCount: number,
  kind: KeyFailureKind,
  config: KeyPoolConfig = defaultKeyPoolConfig,
): number => {
  const base = kind === "retryable" ? config.retryableBaseMs : config.fatalBaseMs
  const ms = base * 2 ** Math.min(Math.max(failCount, 0), config.maxExponent)
  return Math.min(config.maxBackoffMs, kind === "auth" ? Math.max(ms, config.authMinMs) : ms)
}

export const freshKeyState: KeyState = { failCount: 0, backoffUntil: 0, preference: 1, updatedAt: 0 }

/** The preference as it counts now: drifting back toward 1 with age. */
export const effectivePreference = (s: KeyState, now: number, config: KeyPoolConfig = defaultKeyPoolConfig): number =>
  clamp(
    1 + (s.preference - 1) * decayFactor(now - s.updatedAt, config.preferenceHalfLifeMs),
    config.minPreference,
    config.maxPreference,
  )

export type KeyOutcome =
  | { readonly _tag: "Success" }
  | {
      readonly _tag: "Failure"
      readonly kind: KeyFailureKind
      /**
       * The provider's Retry-After for a rate-limited key: the key is usable again exactly then
       * (capped like any backoff), so a retry that waited as told is not refused by the pool.
       */
      readonly retryAfterMs?: number | undefined
    }

export const applyKeyOutcome = (
  prev: KeyState | undefined,
  outcome: KeyOutcome,
  now: number,
  config: KeyPoolConfig = defaultKeyPoolConfig,
): KeyState => {
  const s = prev ?? freshKeyState
  const preference = effectivePreference(s, now, config)
  if (outcome._tag === "Success") {
    return {
      failCount: 0,
      backoffUntil: 0,
      preference: clamp(preference + 0.5, config.minPreference, config.maxPreference),
      updatedAt: now,
    }
  }
  const failCount = s.failCount + 1
  const delta = outcome.kind === "auth" ? -3 : outcome.kind === "fatal" ? -2 : -1
  const providerSaid = outcome.kind === "retryable" && outcome.retryAfterMs !== undefined
  return {
    failCount,
    backoffUntil:
      now +
      (providerSaid
        ? Math.min(config.maxBackoffMs, Math.max(0, outcome.retryAfterMs!))
        : keyBackoffMs(failCount, outcome.kind, config)),
    preference: clamp(preference + delta, config.minPreference, config.maxPreference),
    updatedAt: now,
    ...(providerSaid ? { providerSaid: true } : {}),
  }
}

/**
 * The order in which to try a provider's usable keys: tiers by preference (best first), within
 * each tier a weighted random order (without replacement) by key weight. Keys in backoff and
 * `exclude`d keys are left out. `random` yields uniform draws in [0, 1).
 */
export const keyOrder = (
  keys: ReadonlyArray<ProviderKey>,
  states: ReadonlyMap<string, KeyState>,
  now: number,
  random: () => number,
  exclude: ReadonlySet<string> = new Set(),
  config: KeyPoolConfig = defaultKeyPoolConfig,
): ReadonlyArray<ProviderKey> => {
  const usable = keys
    .filter((k) => !exclude.has(k.id))
    .filter((k) => (states.get(k.id)?.backoffUntil ?? 0) <= now)
    .map((k, i) => ({ k, i, pref: effectivePreference(states.get(k.id) ?? freshKeyState, now, config) }))
    .sort((a, b) => b.pref - a.pref || a.i - b.i)
  const order: Array<ProviderKey> = []
  let rest = usable
  while (rest.length > 0) {
    const head = rest[0]!.pref
    const tier = rest.filter((e) => e.pref >= head - config.tierBand)
    rest = rest.filter((e) => e.pref < head - config.tierBand)
    let pool = tier.map((e) => e.k)
    while (pool.length > 0) {
      const weights = pool.map((k) => Math.max(config.minKeyWeight, k.weight))
      const total = weights.reduce((s, w) => s + w, 0)
      let target = random() * total
      let idx = pool.length - 1
      for (let i = 0; i < pool.length; i++) {
        target -= weights[i]!
        if (target < 0) {
          idx = i
          break
        }
      }
      order.push(pool[idx]!)
      pool = pool.filter((_, i) => i !== idx)
    }
  }
  return order
}

/** No key of the provider can be used now. The candidate is skipped (not penalised). */
export class NoAvailableKey extends Schema.TaggedError<NoAvailableKey>()("NoAvailableKey", {
  provider: Schema.String,
  /**
   * `retry_after`: (panic mode) every key waits out a Retry-After the provider sent;
   * `all_in_backoff`: every key is in a backoff (some chosen by the gateway); `rate_limited`: every
   * key used its `max_qps`.
   */
  reason: Schema.Literal("no_keys", "all_in_backoff", "retry_after", "rate_limited"),
  /** When the earliest key leaves backoff (or the next second starts, for rate limits). */
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

const { decode: decodeState, encode: encodeState } = kvRecord(KeyState, { cached: true })

const stateKey = (provider: string, keyId: string) => `routing:key:${provider}:${keyId}`
/** A key's state for one model (rate limits, Retry-After). */
const modelStateKey = (provider: string, keyId: string, model: string) => `routing:key:${provider}:${keyId}:m:${model}`
const qpsKey = (provider: string, keyId: string, second: number) => `routing:key:${provider}:${keyId}:qps:${second}`
const STATE_TTL = Duration.hours(6)

const warn = (operation: string, e: KvError) =>
  Effect.logWarning("key pool store unavailable").pipe(Effect.annotateLogs({ operation, error: e.message }))

export const makeKeyPool = (config: KeyPoolConfig = defaultKeyPoolConfig) =>
  Effect.gen(function* () {
    const kv = yield* Kv

    /**
     * Each key's state as it counts for `model`: the key's own (preference, auth backoff) with
     * the later backoff of the two when the key is also backed off for the model. One read.
     */
    const stateKeys = (provider: Provider, model: string | undefined): Array<string> => {
      const keys: Array<string> = []
      for (const k of provider.keys) {
        keys.push(stateKey(provider.id, k.id))
        if (model !== undefined) keys.push(modelStateKey(provider.id, k.id, model))
      }
      return keys
    }

    const readStates = (provider: Provider, model: string | undefined) =>
      kv.getMany(stateKeys(provider, model)).pipe(
        Effect.map((raw) => {
          const states = new Map<string, KeyState>()
          const stride = model === undefined ? 1 : 2
          provider.keys.forEach((k, i) => {
            const r = raw[stride * i]
            const own = r === undefined ? undefined : Option.getOrUndefined(decodeState(r))
            const m = stride === 2 ? raw[2 * i + 1] : undefined
            const forModel = m === undefined ? undefined : Option.getOrUndefined(decodeState(m))
            const s =
              forModel === undefined || (own !== undefined && own.backoffUntil >= forModel.backoffUntil)
                ? own
                : { ...(own ?? forModel), backoffUntil: forModel.backoffUntil, providerSaid: forModel.providerSaid }
            if (s !== undefined) states.set(k.id, s)
          })
          return states as ReadonlyMap<string, KeyState>
        }),
        // Fail open: without the store every key is fresh.
        Effect.catchAll((e) =>
          Effect.as(warn("states", e), new Map<string, KeyState>() as ReadonlyMap<string, KeyState>),
        ),
      )

    /** True when the key may send one more request this second (only asked of keys with a limit). */
    const reserveQps = (provider: string, keyId: string, limit: number, now: number) =>
      kv.incr(qpsKey(provider, keyId, Math.floor(now / 1000)), 1, Duration.seconds(1)).pipe(
        Effect.map((n) => n <= limit),
        Effect.catchAll((e) => Effect.as(warn("reserveQps", e), true)),
      )

    /**
     * A key for one attempt at `model`. `exclude`: keys already tried by this request (after
     * RotateKey). `panic`: the request has nowhere else to go (see the module comment).
     */
    const pick = Effect.fnUntraced(function* (
      provider: Provider,
      exclude: ReadonlyArray<string> = [],
      model?: string,
      panic = false,
    ) {
      const excluded = new Set(exclude)
      const candidates = provider.keys.filter((k) => !excluded.has(k.id))
      if (candidates.length === 0) return yield* new NoAvailableKey({ provider: provider.id, reason: "no_keys" })
      const now = yield* Clock.currentTimeMillis
      const states = yield* readStates(provider, model)
      // One draw per key is all keyOrder needs (none for a single key); from Effect's Random so
      // tests can seed it.
      const draws = candidates.length === 1 ? [] : yield* Effect.all(candidates.map(() => Random.next))
      let d = 0
      const order = keyOrder(candidates, states, now, () => draws[d++] ?? 0, excluded, config)
      if (order.length === 0) {
        const waitOf = (k: ProviderKey) => Math.max(0, (states.get(k.id)?.backoffUntil ?? now) - now)
        if (panic) {
          // The gateway's own backoffs give way; the provider's Retry-After does not.
          const own = candidates.filter((k) => states.get(k.id)?.providerSaid !== true)
          if (own.length > 0) return own.reduce((a, b) => (waitOf(b) < waitOf(a) ? b : a))
          return yield* new NoAvailableKey({
            provider: provider.id,
            reason: "retry_after",
            retryAfterMs: Math.min(...candidates.map(waitOf)),
          })
        }
        return yield* new NoAvailableKey({
          provider: provider.id,
          reason: "all_in_backoff",
          retryAfterMs: Math.min(...candidates.map(waitOf)),
        })
      }
      for (const key of order) {
        if (key.maxQps === null || key.maxQps <= 0) return key
        if (yield* reserveQps(provider.id, key.id, key.maxQps, now)) return key
      }
      return yield* new NoAvailableKey({
        provider: provider.id,
        reason: "rate_limited",
        retryAfterMs: 1000 - (now % 1000),
      })
    })

    const update = Effect.fnUntraced(
      function* (provider: string, keyId: string, outcome: KeyOutcome, model?: string) {
        const now = yield* Clock.currentTimeMillis
        const k = model === undefined ? stateKey(provider, keyId) : modelStateKey(provider, keyId, model)
        const raw = yield* kv.get(k)
        const prev = raw === undefined ? undefined : Option.getOrUndefined(decodeState(raw))
        // A success of a key with no history writes nothing: keys without history share a tier,
        // so their configured weights split the traffic (and the hot path saves a write).
        if (outcome._tag === "Success" && prev === undefined) return
        yield* kv.set(k, encodeState(applyKeyOutcome(prev, outcome, now, config)), STATE_TTL)
      },
      Effect.catchAll((e) => warn("update", e)),
    )

    /** A success of the key (for `model`: its backoff for that model ends too). */
    const recordSuccess = Effect.fnUntraced(function* (provider: string, keyId: string, model?: string) {
      yield* update(provider, keyId, { _tag: "Success" })
      if (model !== undefined) yield* update(provider, keyId, { _tag: "Success" }, model)
    })

    /** A failure that is the key's fault: for `model` only when given, else for every model. */
    const recordFailure = Effect.fnUntraced(function* (
      provider: string,
      keyId: string,
      kind: KeyFailureKind,
      retryAfterMs?: number,
      model?: string,
    ) {
      yield* update(provider, keyId, { _tag: "Failure", kind, retryAfterMs }, model)
    })

    /** Each key's own state (backoff for every model, preference), for inspection; absent: no history. */
    const states = (provider: Provider) => readStates(provider, undefined)

    return { pick, recordSuccess, recordFailure, states } as const
  })

export class KeyPool extends Effect.Service<KeyPool>()("gateway/routing/KeyPool", {
  effect: makeKeyPool(),
}) {}
