import type { Schema } from "effect"

/**
 * Small pieces the shared Schemas (providers file, management API, stored JSON) all use, so the
 * same value reads the same everywhere.
 */

/** A leaf schema whose every failure reads as `expected` (never a Schema's type dump). */
export const expecting = <A, I>(schema: Schema.Schema<A, I>, expected: string): Schema.Schema<A, I> =>
  schema.annotations({ message: () => ({ message: expected, override: true }) })

/** A stored JSON column as the driver gives it: already an object, or its text (`undefined` when unreadable). */
export const storedJson = (value: unknown): unknown => {
  if (typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}
