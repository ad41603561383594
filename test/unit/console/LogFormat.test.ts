import { describe, expect, it } from "vitest"
import {
  attemptMessage,
  callerText,
  costText,
  durationText,
  modelText,
  outcomeOf,
  tokensText,
} from "../../../console/src/pages/LogFormat.js"

describe("the request log's cells", () => {
  it("outcome: rescued, complete, client left, failed, cut", () => {
    expect(outcomeOf({ rescued: true, complete: true, status: 200 })).toBe("rescued")
    expect(outcomeOf({ rescued: false, complete: true, status: 200 })).toBe("complete")
    expect(outcomeOf({ rescued: false, complete: false, status: 499 })).toBe("client left")
    expect(outcomeOf({ rescued: false, complete: false, status: 503 })).toBe("failed")
    expect(outcomeOf({ rescued: false, complete: false, status: 200 })).toBe("cut")
  })

  it("durations in ms under a second, then seconds; none as a dash", () => {
    expect(durationText(0)).toBe("0 ms")
    expect(durationText(245.4)).toBe("245 ms")
    expect(durationText(1234)).toBe("1.23 s")
    expect(durationText(12_345)).toBe("12.3 s")
    expect(durationText(null)).toBe("—")
  })

  it("tokens, cost and models", () => {
    expect(tokensText(1234, 56)).toBe("1,234 in · 56 out")
    expect(tokensText(12, null)).toBe("12 in · ? out")
    expect(tokensText(null, null)).toBe("—")
    expect(costText("0.000123")).toBe("$0.000123")
    expect(costText(null)).toBe("—")
    expect(modelText({ requested_model: "fast", model: "gpt-4o-mini" })).toBe("fast → gpt-4o-mini")
    expect(modelText({ requested_model: "gpt-4o-mini", model: "gpt-4o-mini" })).toBe("gpt-4o-mini")
    expect(modelText({ requested_model: "nope", model: null })).toBe("nope")
    expect(modelText({ requested_model: null, model: null })).toBe("—")
  })

  it("an attempt's outcome in words", () => {
    expect(attemptMessage({ outcome: "http", status: 503 })).toBe("the upstream answered 503")
    expect(attemptMessage({ outcome: "ok", status: 200 })).toBe("answered")
    expect(attemptMessage({ outcome: "connect", status: null })).toBe("could not connect")
    expect(attemptMessage({ outcome: "something_new", status: null })).toBe("something_new")
  })

  it("the caller: the master key, a key by name (with its user's when several are listed), a deleted key by id", () => {
    const key = (id: string, name: string, user_id: string) => ({
      id,
      name,
      user_id,
      key_prefix: "apx-1234",
      expiry_type: "never" as const,
      expires_at: null,
      is_active: true,
      created_at: "",
      allowed_provider_ids: null,
      requests_per_minute: null,
      tokens_per_minute: null,
      budget: null,
    })
    const user = (id: string, username: string) => ({
      id,
      username,
      email: `${username}@example.com`,
      display_name: null,
      is_superuser: false,
      is_active: true,
      created_at: "",
    })
    const one = { users: [user("u1", "ann")], keys: [key("k1", "billing", "u1")] }
    const two = { users: [user("u1", "ann"), user("u2", "bob")], keys: [key("k1", "billing", "u1")] }
    expect(callerText({ api_key_id: null, user_id: null }, one)).toBe("master key")
    expect(callerText({ api_key_id: "k1", user_id: "u1" }, one)).toBe("billing")
    expect(callerText({ api_key_id: "k1", user_id: "u1" }, two)).toBe("billing · ann")
    expect(callerText({ api_key_id: "0123456789abcdef", user_id: "u1" }, two)).toBe("key 01234567…")
    expect(callerText({ api_key_id: "0123456789abcdef", user_id: "u1" }, undefined)).toBe("key 01234567…")
  })
})
