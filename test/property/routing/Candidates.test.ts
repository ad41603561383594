import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { filterAllowed, resolveCandidates, stripPrefix } from "../../../src/routing/Candidates.js"
import { makeProvider, makeSnapshot, noLists } from "../../unit/routing/fixtures.js"

const segment = fc.constantFrom("a", "b", "gpt-4o", "x", "q", "m")
const modelId = fc.oneof(
  segment,
  fc.tuple(segment, segment).map(([p, m]) => `${p}/${m}`),
)
const providersArb = fc
  .array(fc.array(modelId, { maxLength: 4 }), { minLength: 1, maxLength: 4 })
  .map((lists) => lists.map((models, i) => makeProvider(`prov${i}`, { models })))

describe("resolveCandidates (discovery) properties", () => {
  it.prop(
    "every candidate forwards an id its provider advertises, matching the request exactly or (a bare name) modulo prefix",
    [providersArb, modelId],
    ([providers, requested]) => {
      const r = resolveCandidates(makeSnapshot(providers), requested, noLists)
      // A prefix is never a provider id here (providers are prov0…): `p/m` must match exactly.
      const prefixed = requested.includes("/")
      const matching = providers.filter((p) =>
        p.models!.some((id) => id === requested || (!prefixed && stripPrefix(id) === requested)),
      )
      if (Either.isLeft(r)) {
        expect(r.left._tag).toBe(prefixed ? "UnknownProvider" : "ModelNotFound")
        expect(matching).toEqual([])
        return
      }
      // Each matching provider contributes exactly one candidate.
      expect(r.right.candidates.map((c) => c.provider.id)).toEqual(matching.map((p) => p.id))
      for (const c of r.right.candidates) {
        expect(c.provider.models).toContain(c.model)
        expect(stripPrefix(c.model)).toBe(stripPrefix(requested))
        if (c.provider.models!.includes(requested)) expect(c.model).toBe(requested)
      }
    },
  )

  it.prop(
    "the allow-list never lets a disallowed provider through, and [] allows nothing",
    [providersArb, modelId, fc.subarray(["prov0", "prov1", "prov2", "prov3"])],
    ([providers, requested, allowed]) => {
      const r = resolveCandidates(makeSnapshot(providers), requested, noLists)
      if (Either.isLeft(r)) return
      const f = filterAllowed(r.right, allowed)
      if (Either.isRight(f)) {
        expect(allowed.length).toBeGreaterThan(0)
        for (const c of f.right.candidates) expect(allowed).toContain(c.provider.id)
      } else {
        expect(f.left.allowedProviderIds).toEqual(allowed)
        for (const c of r.right.candidates) expect(allowed).not.toContain(c.provider.id)
      }
    },
  )
})
