import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CANONICAL_ANSWER, type FaultWall, startFaultWall } from "../../support/FaultWall.js"
import { startTestGateway, type TestGateway } from "../../support/TestGateway.js"
import { GATEWAY_ENV, HEADERS_TIMEOUT_MS, SCENARIOS, WALL_TIMING } from "./Catalogue.js"
import { CONFIGURATIONS, type Configuration } from "./Configurations.js"
import { runScenario, type ScenarioResult } from "./Runner.js"

/**
 * failoverbench (16 scenarios) end to end, in both configurations issue 12 names: the real
 * gateway in front of `FaultWall` (a port of the benchmark's fake provider), each scenario one
 * streamed call through the official `openai` SDK, scored with the benchmark's own checks. Every
 * test asks for the ideal outcome — verdict "pass": the complete canonical answer, character for
 * character (S13: the provider's clean error) with every check clean — plus what the scenario is
 * about, and a healthy `fb-ok` call afterwards. Nothing is reset between scenarios but the wall's
 * log and counters: state one scenario leaves in the gateway (circuits, back-offs) meets the next,
 * as in the benchmark and in production; the tests therefore run in catalogue order.
 */

const scenario = (id: string) => SCENARIOS.find((s) => s.id === id)!

/** The verdict "pass" (all checks clean, healthy afterwards), shown with the whole run when not. */
const expectPass = (result: ScenarioResult) => {
  expect(
    result.checks.filter((c) => c.status === "fail"),
    result.describe,
  ).toEqual([])
  expect(result.metrics.aliveAfter, result.describe).toBe(true)
  expect(result.verdict, result.describe).toBe("pass")
}

/** The answer the client assembled is the wall's, exactly: nothing lost, nothing repeated. */
const expectCanonical = (result: ScenarioResult) => {
  expect(result.metrics.outcome, result.describe).toBe("success")
  expect(result.metrics.content, result.describe).toBe(CANONICAL_ANSWER)
}

const suite = (configuration: Configuration) =>
  describe(`failoverbench, configuration ${configuration.name}`, () => {
    let wall: FaultWall
    let gateway: TestGateway
    let client: OpenAI

    const run = async (id: string) => {
      const result = await runScenario(client, wall, scenario(id))
      expectPass(result)
      return result
    }
    const primaryAttempts = (id: string) => wall.attemptsFor(scenario(id).model)

    beforeAll(async () => {
      wall = await startFaultWall({ timing: WALL_TIMING })
      gateway = await startTestGateway({ env: GATEWAY_ENV, gatewayFile: configuration.gatewayFile(wall.url) })
      client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0, timeout: 60_000 })
    })

    afterAll(async () => {
      await gateway?.close()
      await wall?.close()
    })

    it("S01 429 with Retry-After: the retry waits out Retry-After and the primary answers", async () => {
      const result = await run("S01")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(2)
      expect(result.metrics.firstGapS!).toBeGreaterThanOrEqual(0.9 * WALL_TIMING.retryAfterS)
      expect(result.metrics.reportedModel).toBe("fb-s01-429-retry-after")
    })

    it("S02 429 without Retry-After, persistent: no hammering, the fallback answers", async () => {
      const result = await run("S02")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBeLessThanOrEqual(4)
      expect(result.metrics.attemptsFallback).toBe(1)
      expect(result.metrics.reportedModel).toBe("fb-ok")
    })

    it("S03 500 once: retried on the same upstream, which answers", async () => {
      const result = await run("S03")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(2)
      expect(result.metrics.attemptsFallback).toBe(0)
    })

    it("S04 503 persistent: a bounded number of tries, then the fallback answers", async () => {
      const result = await run("S04")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBeGreaterThanOrEqual(1)
      expect(result.metrics.attemptsPrimary).toBeLessThanOrEqual(6)
      expect(result.metrics.reportedModel).toBe("fb-ok")
    })

    it("S05 TCP reset before headers: the request is retried and answered", async () => {
      const result = await run("S05")
      expectCanonical(result)
      expect(primaryAttempts("S05")[0]!.action).toBe("tcp-reset")
    })

    it("S06 no response at all: the silent route is abandoned after the headers timeout, not retried; the fallback answers", async () => {
      const result = await run("S06")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.reportedModel).toBe("fb-ok")
      // The gateway hung up on the silent wall (it did not wait for the wall to give up).
      expect(primaryAttempts("S06")[0]!.clientGaveUpAt).not.toBeNull()
      expect(result.metrics.elapsedS).toBeLessThan((2 * HEADERS_TIMEOUT_MS) / 1000)
    })

    it("S07 slow first token: the first-token limit moves to the fallback before the slow token arrives", async () => {
      const result = await run("S07")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.reportedModel).toBe("fb-ok")
    })

    it("S08 stream cut mid-answer: the answer is continued from the fallback, complete and without duplicates", async () => {
      const result = await run("S08")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.attemptsFallback).toBeGreaterThanOrEqual(1)
      // The rest of the answer names the model that wrote it (S16's accounting).
      expect(result.metrics.reportedModel).toBe("fb-ok")
    })

    it("S09 stream stalls: the stall is detected within the idle timeout and the answer continued", async () => {
      const result = await run("S09")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBeGreaterThanOrEqual(1)
    })

    it("S10 malformed chunk: the one bad frame is skipped and the stream completes in place", async () => {
      const result = await run("S10")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.attemptsFallback).toBe(0)
    })

    it("S11 stream ends without [DONE]: finalised at once, with usage", async () => {
      const result = await run("S11")
      expectCanonical(result)
      expect(result.metrics.usage).toMatchObject({ completion_tokens: 60 })
    })

    it("S12 context length exceeded: never resent unchanged, the fallback model answers", async () => {
      const result = await run("S12")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.reportedModel).toBe("fb-ok")
    })

    it("S13 content-filter rejection: not retried, the provider's 400 and reason reach the client", async () => {
      const result = await run("S13")
      expect(result.metrics.outcome).toBe("error")
      expect(result.metrics.status).toBe(400)
      expect(result.metrics.error).toContain("rejected as a result of our safety system")
      expect(result.metrics.attemptsPrimary).toBe(1)
      expect(result.metrics.attemptsFallback).toBe(0)
    })

    it("S14 fallback rejects prefill: the cut answer is restarted without prefill and only the rest forwarded", async () => {
      const result = await run("S14")
      expectCanonical(result)
      expect(result.metrics.attemptsPrimary).toBe(1)
      // The fallback was reached; whatever it said to a prefill never became the client's error.
      const fallback = wall.attemptsFor("fb-ok-noprefill")
      expect(fallback.length).toBeGreaterThanOrEqual(1)
      expect(fallback.at(-1)!.lastRole).toBe("user")
      expect(fallback.at(-1)!.action).toBe("200 stream")
      expect(result.metrics.reportedModel).toBe("fb-ok-noprefill")
    })

    it("S15 primary flaps: the fallback serves during the outage, the primary carries traffic again soon after", async () => {
      const result = await run("S15")
      const seq = result.metrics.sequence!
      expect(
        seq.items.every((it) => it.outcome === "success" && it.complete),
        result.describe,
      ).toBe(true)
      expect(seq.items.at(-1)!.reportedModel).toBe("fb-s15-flap")
    }, 40_000)

    it("S16 fail-over accounting: the client is told the fallback's model and usage", async () => {
      const result = await run("S16")
      expectCanonical(result)
      expect(result.metrics.reportedModel).toBe("fb-ok")
      expect(result.metrics.usage).toMatchObject({ completion_tokens: 60 })
      expect(result.metrics.attemptsPrimary).toBeLessThanOrEqual(6)
    })
  })

for (const configuration of CONFIGURATIONS) suite(configuration)
