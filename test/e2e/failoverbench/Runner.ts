/**
 * failoverbench's `run_scenario` ported: reset the wall (never the gateway — state one scenario
 * leaves meets the next, as in production), make the scenario's streamed call (or, for S15, the
 * timed sequence of calls), read the wall's log, probe the gateway with a healthy `fb-ok` call,
 * then score. Each result carries a one-screen description for assertion messages.
 */
import type OpenAI from "openai"
import type { FaultWall } from "../../support/FaultWall.js"
import { fallbackOf, PROMPT, type Scenario } from "./Catalogue.js"
import {
  baseMetrics,
  type CheckResult,
  evaluateCheck,
  isComplete,
  type Metrics,
  outcomeOf,
  type SequenceItem,
  type Verdict,
  verdictFor,
} from "./Scoring.js"
import { callChat } from "./SdkCall.js"

export interface ScenarioResult {
  readonly scenario: Scenario
  readonly verdict: Verdict
  readonly reason: string
  readonly checks: ReadonlyArray<CheckResult>
  readonly metrics: Metrics
  /** Verdict, failed checks, outcome and the wall's log: what a failing assertion should show. */
  readonly describe: string
}

const messages = (): Array<OpenAI.ChatCompletionMessageParam> => [{ role: "user", content: PROMPT }]

const sleepUntil = (at: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())))

/** `alive_probe`: a non-streamed `fb-ok` call must return the canonical answer within 10 s. */
const aliveProbe = async (client: OpenAI) => {
  const r = await callChat(client, "fb-ok", messages(), { stream: false, maxWallS: 10 })
  const ok = r.ok && isComplete(r.content)
  return { ok, error: ok ? undefined : (r.error ?? "answer was not the canonical text") }
}

const describeResult = (verdict: Verdict, reason: string, checks: ReadonlyArray<CheckResult>, m: Metrics): string =>
  [
    `verdict ${verdict} (${reason})`,
    ...checks.filter((c) => c.status !== "pass").map((c) => `  check ${c.id} [${c.severity}] ${c.status}: ${c.detail}`),
    `  outcome ${m.outcome} in ${m.elapsedS.toFixed(2)}s, model ${m.reportedModel}, ${m.contentWords}/60 words${m.error ? `, error: ${m.error}` : ""}`,
    `  alive after: ${m.aliveAfter}${m.aliveError ? ` (${m.aliveError})` : ""}`,
    ...(m.sequence?.items.map(
      (it) =>
        `  seq #${it.i} at ${it.tSent.toFixed(2)}s: ${it.outcome} from ${it.reportedModel}${it.error ? ` (${it.error})` : ""}`,
    ) ?? []),
    ...m.wallActions.map((a) => `  wall ${a}`),
  ].join("\n")

export const runScenario = async (client: OpenAI, wall: FaultWall, scenario: Scenario): Promise<ScenarioResult> => {
  const fallbackModel = fallbackOf(scenario)
  wall.reset()
  let metrics: Metrics
  if (scenario.sequence !== undefined) {
    const seq = scenario.sequence
    const reset = performance.now()
    const items: Array<SequenceItem> = []
    let last = undefined as Awaited<ReturnType<typeof callChat>> | undefined
    for (let i = 0; i < seq.count; i++) {
      await sleepUntil(reset + i * seq.intervalS * 1000)
      const tSent = Math.round(performance.now() - reset) / 1000
      last = await callChat(client, scenario.model, messages(), { stream: true, maxWallS: seq.perRequestMaxWallS })
      items.push({
        i,
        tSent,
        outcome: outcomeOf(last),
        complete: isComplete(last.content),
        elapsedS: last.elapsedS,
        reportedModel: last.reportedModel,
        error: last.error,
      })
    }
    const log = [...wall.log()]
    const down = wall.timing.flapDownMs / 1000
    const primary = wall.attemptsFor(scenario.model)
    const recovered = primary.filter((e) => (e.action ?? "").startsWith("200")).map((e) => e.t)
    const during = items.filter((it) => it.tSent < down)
    const alive = await aliveProbe(client)
    const base = baseMetrics(scenario, fallbackModel, last!, log, alive)
    metrics = {
      ...base,
      outcome: items.some((it) => it.outcome === "hang")
        ? "hang"
        : items.every((it) => it.outcome === "success")
          ? "success"
          : "error",
      complete: items.every((it) => it.complete),
      error: items.find((it) => it.outcome !== "success")?.error,
      elapsedS: Math.round(performance.now() - reset) / 1000,
      sequence: {
        items,
        hangs: items.filter((it) => it.outcome === "hang").length,
        requestsDuringDown: during.length,
        servedDuringDown: during.filter((it) => it.outcome === "success").length,
        primaryAttemptsDuringDown: primary.filter((e) => e.t < down).length,
        recoveredAfterS: recovered.length > 0 ? Math.round((Math.min(...recovered) - down) * 1000) / 1000 : null,
      },
    }
  } else {
    const r = await callChat(client, scenario.model, messages(), { stream: true, maxWallS: scenario.maxWallS })
    const log = [...wall.log()]
    const alive = await aliveProbe(client)
    metrics = baseMetrics(scenario, fallbackModel, r, log, alive)
  }
  const checks = scenario.checks.map((c) => evaluateCheck(c, metrics, { fallback: true }))
  const { verdict, reason } = verdictFor(scenario, checks, metrics)
  return { scenario, verdict, reason, checks, metrics, describe: describeResult(verdict, reason, checks, metrics) }
}
