import { Cause, Duration, Option } from "effect"
import { describe, expect, it } from "vitest"
import { UpstreamStatusError, UpstreamTransportError } from "../../../src/shared/UpstreamFailure.js"
import {
  decodeDiscoveryOutcome,
  discoveryFailure,
  encodeDiscoveryOutcome,
} from "../../../src/upstream/DiscoveryOutcome.js"

const timeout = Duration.seconds(5)

describe("discoveryFailure", () => {
  it("names the provider's status and message", () => {
    const error = new UpstreamStatusError({
      provider: "p",
      model: "(models)",
      status: 401,
      message: "bad key [redacted]",
    })
    expect(discoveryFailure(Cause.fail(error), timeout)).toBe("HTTP 401: bad key [redacted]")
  })

  it("a transport failure's message; a timeout; an answer that is not JSON", () => {
    const error = new UpstreamTransportError({
      provider: "p",
      model: "(models)",
      reason: "connect",
      message: "ECONNREFUSED",
    })
    expect(discoveryFailure(Cause.fail(error), timeout)).toBe("ECONNREFUSED")
    expect(discoveryFailure(Cause.fail(new Cause.TimeoutException()), timeout)).toBe("no answer within 5s")
    expect(discoveryFailure(Cause.die(new SyntaxError("Unexpected token")), timeout)).toBe(
      "the answer is not a model list",
    )
  })

  it("bounds a long message to 300 characters", () => {
    const error = new UpstreamStatusError({ provider: "p", model: "", status: 500, message: "x".repeat(5000) })
    const text = discoveryFailure(Cause.fail(error), timeout)
    expect(text).toHaveLength(300)
    expect(text.endsWith("…")).toBe(true)
  })
})

describe("the stored outcome", () => {
  it("round-trips; text of another shape reads as none", () => {
    const outcome = { at: 1_700_000_000_000, models: 3, error: null }
    expect(decodeDiscoveryOutcome(encodeDiscoveryOutcome(outcome))).toEqual(Option.some(outcome))
    expect(Option.isNone(decodeDiscoveryOutcome('["gpt-4o"]'))).toBe(true)
    expect(Option.isNone(decodeDiscoveryOutcome("not json"))).toBe(true)
  })
})
