import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { hashPassword, unmatchableHash, verifyPassword } from "../../../src/identity/Passwords.js"

/** The form an unknown user's login is checked against (Users.checkLogin): as costly, never a match. */
describe("unmatchableHash", () => {
  it.effect("has a real hash's parameters and lengths, so checking against it costs the same", () =>
    Effect.gen(function* () {
      const real = (yield* hashPassword("correct horse")).split("$")
      const unmatchable = unmatchableHash.split("$")
      expect(unmatchable.slice(0, 4)).toEqual(real.slice(0, 4))
      expect(unmatchable[4]!.length).toBe(real[4]!.length)
      expect(unmatchable[5]!.length).toBe(real[5]!.length)
    }),
  )

  it.effect("matches no password, the empty one included", () =>
    Effect.gen(function* () {
      for (const password of ["", "apiproxy-timing-equaliser", "admin", "\u0000"])
        expect(yield* verifyPassword(password, unmatchableHash)).toBe(false)
      const stored = yield* hashPassword("admin")
      expect(yield* verifyPassword("admin", stored)).toBe(true)
    }),
  )
})
