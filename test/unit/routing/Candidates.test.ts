import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { filterAllowed, matchAdvertised, resolveCandidates } from "../../../src/routing/Candidates.js"
import { makeProvider, makeSnapshot, noLists } from "./fixtures.js"

const ok = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}
const err = <A, E>(e: Either.Either<A, E>): E => {
  if (Either.isRight(e)) throw new Error(`expected Left, got ${JSON.stringify(e.right)}`)
  return e.left
}

const pa = makeProvider("pa", { models: ["gpt-4o", "gpt-4o-mini"], weight: 1 })
const pb = makeProvider("pb", { models: ["gpt-4o"], weight: 2 })
const pq = makeProvider("pq", { models: ["q/x", "other"] })

describe("resolveCandidates", () => {
  it("routes a logical model to its upstreams with their weights and priorities", () => {
    const snap = makeSnapshot(
      [pa, pb],
      [
        {
          id: "smart",
          description: null,
          enabled: true,
          strategy: "latency_first",
          policy: {},
          upstreams: [
            { provider: "pa", model: "gpt-4o", weight: 3, priority: 0 },
            { provider: "pb", model: "gpt-4o", weight: 1, priority: 1 },
            { provider: "missing", model: "gpt-4o", weight: 1, priority: 0 },
          ],
        },
      ],
    )
    const r = ok(resolveCandidates(snap, "smart", noLists))
    expect(r.source).toBe("logical")
    expect(r.strategy).toBe("latency_first")
    expect(r.logicalModel).toBe("smart")
    expect(r.candidates.map((c) => [c.provider.id, c.model, c.weight, c.priority])).toEqual([
      ["pa", "gpt-4o", 3, 0],
      ["pb", "gpt-4o", 1, 1],
    ])
  })

  it("finds a logical model whose id contains a slash", () => {
    const snap = makeSnapshot(
      [pa],
      [
        {
          id: "team/chat",
          description: null,
          enabled: true,
          strategy: "balanced",
          policy: {},
          upstreams: [{ provider: "pa", model: "gpt-4o", weight: 1, priority: 0 }],
        },
      ],
    )
    expect(ok(resolveCandidates(snap, "team/chat", noLists)).source).toBe("logical")
  })

  it("refuses a disabled logical model and one with no live upstreams", () => {
    const disabledProvider = makeProvider("off", { enabled: false, models: ["m"] })
    const snap = makeSnapshot(
      [pa, disabledProvider],
      [
        {
          id: "d",
          description: null,
          enabled: false,
          strategy: "balanced",
          policy: {},
          upstreams: [{ provider: "pa", model: "gpt-4o", weight: 1, priority: 0 }],
        },
        {
          id: "e",
          description: null,
          enabled: true,
          strategy: "balanced",
          policy: {},
          upstreams: [{ provider: "off", model: "m", weight: 1, priority: 0 }],
        },
      ],
    )
    expect(err(resolveCandidates(snap, "d", noLists))._tag).toBe("LogicalModelDisabled")
    expect(err(resolveCandidates(snap, "e", noLists))._tag).toBe("NoUpstreams")
  })

  it("routes provider/model to that provider only, forwarding the provider's own id", () => {
    const snap = makeSnapshot([pa, pb])
    const r = ok(resolveCandidates(snap, "pb/gpt-4o", noLists))
    expect(r.source).toBe("provider_prefix")
    expect(r.candidates.map((c) => [c.provider.id, c.model])).toEqual([["pb", "gpt-4o"]])
    expect(err(resolveCandidates(snap, "pb/gpt-4o-mini", noLists))._tag).toBe("ModelNotFound")
  })

  it("forwards the rest of the name for a prefixed provider whose list is unknown (aggregators)", () => {
    const agg = makeProvider("openrouter", { models: null, type: "aggregator" })
    const r = ok(resolveCandidates(makeSnapshot([agg]), "openrouter/anthropic/claude-3", noLists))
    expect(r.candidates.map((c) => c.model)).toEqual(["anthropic/claude-3"])
  })

  it("discovers every provider advertising the model (zero-config group)", () => {
    const r = ok(resolveCandidates(makeSnapshot([pb, pa, pq]), "gpt-4o", noLists))
    expect(r.source).toBe("discovery")
    expect(r.logicalModel).toBe("gpt-4o")
    expect(r.candidates.map((c) => [c.provider.id, c.weight])).toEqual([
      ["pa", 1],
      ["pb", 2],
    ])
  })

  it("refuses p/x naming no provider when no provider spells the id so: UnknownProvider, never another provider's x", () => {
    const e = err(resolveCandidates(makeSnapshot([pa, pb]), "opneai/gpt-4o", noLists))
    expect(e._tag).toBe("UnknownProvider")
    expect(e._tag === "UnknownProvider" && [e.provider, e.message]).toEqual([
      "opneai",
      "Unknown provider 'opneai' in model 'opneai/gpt-4o': no provider has this id, and none serves a model by this name",
    ])
  })

  it("matches a provider advertising q/x for x and for q/x exactly (forwarding q/x), but not for r/x", () => {
    const snap = makeSnapshot([pa, pq])
    for (const name of ["x", "q/x"]) {
      const r = ok(resolveCandidates(snap, name, noLists))
      expect(r.candidates.map((c) => [c.provider.id, c.model])).toEqual([["pq", "q/x"]])
    }
    expect(err(resolveCandidates(snap, "r/x", noLists))._tag).toBe("UnknownProvider")
  })

  it("an alias spelled p/x is honoured though p is no provider", () => {
    const aliased = makeProvider("al", { models: ["real-model"], aliases: { "team/fast": "real-model" } })
    expect(ok(resolveCandidates(makeSnapshot([aliased]), "team/fast", noLists)).candidates.map((c) => c.model)).toEqual(
      ["real-model"],
    )
  })

  it("prefers the modelLists answer over the static list and skips providers with no list", () => {
    const dyn = makeProvider("dyn", { models: null })
    const snap = makeSnapshot([dyn, pa])
    const lists = (id: string) => (id === "dyn" ? ["gpt-4o"] : undefined)
    expect(ok(resolveCandidates(snap, "gpt-4o", lists)).candidates.map((c) => c.provider.id)).toEqual(["dyn", "pa"])
    expect(ok(resolveCandidates(snap, "gpt-4o", noLists)).candidates.map((c) => c.provider.id)).toEqual(["pa"])
  })

  it("a model named like an Object.prototype member is a plain name, never an alias (regression: valueOf crashed the process)", () => {
    const unlisted = makeProvider("un", { models: null, aliases: { mini: "gpt-4o-mini" } })
    const snap = makeSnapshot([unlisted, pa])
    for (const name of ["constructor", "valueOf", "__proto__", "toString", "hasOwnProperty"]) {
      const r = ok(resolveCandidates(snap, `un/${name}`, noLists))
      expect(r.candidates.map((c) => [c.provider.id, c.model])).toEqual([["un", name]])
      expect(err(resolveCandidates(snap, name, noLists))._tag).toBe("ModelNotFound")
    }
  })

  it("honours per-provider aliases only when the target is advertised", () => {
    const aliased = makeProvider("al", {
      models: ["claude-3-5-sonnet-20241022"],
      aliases: { sonnet: "claude-3-5-sonnet-20241022", ghost: "not-listed" },
    })
    const snap = makeSnapshot([aliased])
    expect(ok(resolveCandidates(snap, "sonnet", noLists)).candidates.map((c) => c.model)).toEqual([
      "claude-3-5-sonnet-20241022",
    ])
    expect(err(resolveCandidates(snap, "ghost", noLists))._tag).toBe("ModelNotFound")
  })

  it("ignores disabled providers in discovery and reports unknown models", () => {
    const off = makeProvider("off", { enabled: false, models: ["gpt-4o"] })
    const r = ok(resolveCandidates(makeSnapshot([off, pb]), "gpt-4o", noLists))
    expect(r.candidates.map((c) => c.provider.id)).toEqual(["pb"])
    const e = err(resolveCandidates(makeSnapshot([pa]), "nope", noLists))
    expect(e._tag).toBe("ModelNotFound")
    expect(err(resolveCandidates(makeSnapshot([pa]), "  ", noLists))._tag).toBe("ModelNotFound")
  })

  it("matchAdvertised prefers exact matches over prefix-stripped ones", () => {
    expect(matchAdvertised("a/x", ["b/x", "a/x"])).toBe("a/x")
    expect(matchAdvertised("a/x", ["b/x", "x"])).toBe("x")
    expect(matchAdvertised("x", ["b/x"])).toBe("b/x")
    expect(matchAdvertised("y", ["b/x"])).toBeUndefined()
  })
})

describe("filterAllowed", () => {
  const r = ok(resolveCandidates(makeSnapshot([pa, pb]), "gpt-4o", noLists))
  it("null allows everything", () => {
    expect(ok(filterAllowed(r, null)).candidates).toHaveLength(2)
  })
  it("keeps only allowed providers", () => {
    expect(ok(filterAllowed(r, ["pb", "zz"])).candidates.map((c) => c.provider.id)).toEqual(["pb"])
  })
  it("the empty list allows nothing and the error lists the allowed ids", () => {
    const e = err(filterAllowed(r, []))
    expect(e._tag).toBe("ProviderNotAllowed")
    expect(e.allowedProviderIds).toEqual([])
    const e2 = err(filterAllowed(r, ["zz"]))
    expect(e2.allowedProviderIds).toEqual(["zz"])
    expect(e2.candidateProviderIds).toEqual(["pa", "pb"])
  })
})
