import { describe, expect, it } from "vitest"
import type { LogicalModel } from "../../../console/src/api/RoutingTypes.js"
import {
  addUpstream,
  bodyOf,
  draftOf,
  emptyDraft,
  type ModelDraft,
  moveUpstream,
  policySummary,
  removeUpstream,
  updateUpstream,
} from "../../../console/src/logical/ModelDraft.js"

const stored: LogicalModel = {
  id: "fast",
  name: "Fast",
  description: null,
  enabled: true,
  strategy: "latency_first",
  upstreams: [
    { provider: "backup", model: "gpt-4o-mini", weight: 1, priority: 1 },
    { provider: "main", model: "gpt-4o-mini", weight: 2.5, priority: 0 },
  ],
  timeouts: { first_token: 10, request: 120 },
  retries: 1,
  rescue: false,
  created_at: "2025-01-01T00:00:00.000Z",
  updated_at: "2025-01-01T00:00:00.000Z",
}

const bodyOfValid = (draft: ModelDraft) => {
  const result = bodyOf(draft)
  if (result._tag !== "Body") throw new Error(result.message)
  return result.body
}

describe("logical model form ↔ API body", () => {
  it("a stored model reads into the form, upstreams in tier order, and back to the same body", () => {
    const draft = draftOf(stored)
    expect(draft.upstreams.map((u) => u.provider)).toEqual(["main", "backup"])
    expect(draft).toMatchObject({ firstToken: "10", idle: "", request: "120", retries: "1", rescue: "off" })
    expect(bodyOfValid(draft)).toEqual({
      name: "Fast",
      description: null,
      enabled: true,
      strategy: "latency_first",
      upstreams: [
        { provider: "main", model: "gpt-4o-mini", weight: 2.5, priority: 0 },
        { provider: "backup", model: "gpt-4o-mini", weight: 1, priority: 1 },
      ],
      timeouts: { first_token: 10, request: 120 },
      retries: 1,
      rescue: false,
    })
  })

  it("empty settings are left out (the gateway's defaults), texts trimmed, empty name and description null", () => {
    const draft = updateUpstream({ ...emptyDraft("mock"), name: "  ", description: " d " }, 0, {
      model: " gpt-4o-mini ",
      weight: "",
      priority: " ",
    })
    expect(bodyOfValid(draft)).toEqual({
      name: null,
      description: "d",
      enabled: true,
      strategy: "balanced",
      upstreams: [{ provider: "mock", model: "gpt-4o-mini", weight: 1, priority: 0 }],
    })
    expect(bodyOfValid({ ...draft, rescue: "on" }).rescue).toBe(true)
  })

  it("text that is no number is refused here, every field named at once; ranges are the API's to check", () => {
    const draft = updateUpstream({ ...emptyDraft("mock"), retries: "two", idle: "1e" }, 0, { weight: "heavy" })
    expect(bodyOf(draft)).toEqual({
      _tag: "Invalid",
      message:
        "Upstream 1 weight: expected a number, got 'heavy'; Idle timeout: expected a number, got '1e'; Retries: expected a number, got 'two'",
    })
    // Out of range, but numbers: sent as they are, the API answers with its own message.
    const outOfRange = bodyOfValid(updateUpstream({ ...emptyDraft("mock"), retries: "9" }, 0, { weight: "-1" }))
    expect(outOfRange.retries).toBe(9)
    expect(outOfRange.upstreams[0]!.weight).toBe(-1)
    expect(bodyOfValid({ ...emptyDraft("m"), request: ".5", firstToken: "1e2" }).timeouts).toEqual({
      first_token: 100,
      request: 0.5,
    })
  })

  it("adds, removes and updates upstreams without touching the others", () => {
    let draft = addUpstream(emptyDraft("a"), "b")
    expect(draft.upstreams).toEqual([
      { provider: "a", model: "", weight: "1", priority: "0" },
      { provider: "b", model: "", weight: "1", priority: "0" },
    ])
    draft = updateUpstream(draft, 1, { weight: "3" })
    expect(draft.upstreams[1]!.weight).toBe("3")
    expect(draft.upstreams[0]!.weight).toBe("1")
    draft = removeUpstream(draft, 0)
    expect(draft.upstreams).toEqual([{ provider: "b", model: "", weight: "3", priority: "0" }])
  })

  it("a move swaps two rows and their priorities; past either end it changes nothing", () => {
    const draft = draftOf(stored)
    const moved = moveUpstream(draft, 1, -1)
    expect(moved.upstreams.map((u) => [u.provider, u.priority, u.weight])).toEqual([
      ["backup", "0", "1"],
      ["main", "1", "2.5"],
    ])
    expect(moveUpstream(moved, 0, 1).upstreams).toEqual(draft.upstreams)
    expect(moveUpstream(draft, 0, -1)).toBe(draft)
    expect(moveUpstream(draft, 1, 1)).toBe(draft)
  })

  it("summarises a model's own timeouts, retries and rescue", () => {
    expect(policySummary(stored)).toBe("first token 10 s · request 120 s · 1 retry · no rescue")
    expect(policySummary({ timeouts: { idle: 30 }, retries: 0, rescue: true })).toBe(
      "idle 30 s · 0 retries · rescue on",
    )
    expect(policySummary({})).toBe("defaults")
  })
})
