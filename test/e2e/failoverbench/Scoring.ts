/**
 * failoverbench's scoring (`failoverbench/runner.py`: `base_metrics`, `evaluate_check`,
 * `verdict_for`) ported as pure functions: the caller's view of a call plus the wall's log become
 * metrics, each catalogue check becomes pass / fail / n/a / info, and the two together a verdict:
 *
 *   pass     rescued (the ideal outcome), every check clean
 *   partial  rescued, an advisory check failed (or, for ideal=error, answered anyway)
 *   safe     not rescued, but a bounded clean error and every required check clean
 *   fail     a required check failed, a hang, or a truncated answer presented as success
 */
import { CANONICAL_ANSWER, tagKey, type WallAttempt } from "../../support/FaultWall.js"
import type { Check, Scenario } from "./Catalogue.js"
import type { CallResult } from "./SdkCall.js"

/** Whitespace collapsed and trimmed, as the runner compares answers. */
export const norm = (text: string | undefined): string => (text ?? "").trim().replace(/\s+/g, " ")

const CANON = norm(CANONICAL_ANSWER)

export type Outcome = "success" | "error" | "hang"

export interface SequenceItem {
  readonly i: number
  /** Seconds after the wall's reset the request was sent. */
  readonly tSent: number
  readonly outcome: Outcome
  readonly complete: boolean
  readonly elapsedS: number
  readonly reportedModel: string | undefined
  readonly error: string | undefined
}

export interface SequenceMetrics {
  readonly items: ReadonlyArray<SequenceItem>
  readonly hangs: number
  readonly requestsDuringDown: number
  readonly servedDuringDown: number
  readonly primaryAttemptsDuringDown: number
  /** First primary 200 minus the end of the down window; null if the primary never answered. */
  readonly recoveredAfterS: number | null
}

export interface Metrics {
  readonly outcome: Outcome
  readonly complete: boolean
  readonly content: string
  readonly contentWords: number
  readonly error: string | undefined
  readonly status: number | undefined
  readonly elapsedS: number
  readonly reportedModel: string | undefined
  readonly usage: unknown
  readonly fallbackModel: string
  readonly attemptsPrimary: number
  readonly attemptsFallback: number
  readonly primaryTimes: ReadonlyArray<number>
  readonly primaryPromptTokens: ReadonlyArray<number | undefined>
  readonly firstGapS: number | null
  readonly prefillRejections: number
  /** `0.12s fb-s03-500-then-200 #1 -> 500`, one per request the wall saw. */
  readonly wallActions: ReadonlyArray<string>
  readonly aliveAfter: boolean
  readonly aliveError: string | undefined
  readonly sequence?: SequenceMetrics
}

export const outcomeOf = (r: CallResult): Outcome => (r.hang ? "hang" : r.ok ? "success" : "error")

export const isComplete = (content: string | undefined): boolean => norm(content) === CANON

/** `base_metrics`: the call as the caller saw it, and the wall's log for the primary and the fallback. */
export const baseMetrics = (
  scenario: Scenario,
  fallbackModel: string,
  r: CallResult,
  log: ReadonlyArray<WallAttempt>,
  alive: { readonly ok: boolean; readonly error: string | undefined },
): Metrics => {
  const primary = log.filter((e) => tagKey(e.model) === tagKey(scenario.model))
  const fallback = log.filter((e) => tagKey(e.model) === tagKey(fallbackModel))
  return {
    outcome: outcomeOf(r),
    complete: isComplete(r.content),
    content: r.content,
    contentWords: norm(r.content)
      .split(" ")
      .filter((w) => w !== "").length,
    error: r.error,
    status: r.status,
    elapsedS: r.elapsedS,
    reportedModel: r.reportedModel,
    usage: r.usage,
    fallbackModel,
    attemptsPrimary: primary.length,
    attemptsFallback: fallback.length,
    primaryTimes: primary.map((e) => e.t),
    primaryPromptTokens: primary.map((e) => e.promptTokens),
    firstGapS: primary.length >= 2 ? Math.round((primary[1]!.t - primary[0]!.t) * 1000) / 1000 : null,
    prefillRejections: log.filter((e) => (e.action ?? "").startsWith("400 prefill")).length,
    wallActions: log.map((e) => `${e.t.toFixed(2)}s ${tagKey(e.model)} #${e.attempt} -> ${e.action}`),
    aliveAfter: alive.ok,
    aliveError: alive.error,
  }
}

export type CheckStatus = "pass" | "fail" | "na" | "info"

export interface CheckResult {
  readonly id: string
  readonly kind: Check["kind"]
  readonly status: CheckStatus
  readonly detail: string
  readonly severity: "required" | "advisory"
}

/** What the system under test can do: the gateway has fallbacks. */
export interface Capabilities {
  readonly fallback: boolean
}

/** `evaluate_check`. */
export const evaluateCheck = (check: Check, m: Metrics, caps: Capabilities): CheckResult => {
  const out = (ok: boolean | null, detail: string): CheckResult => ({
    id: check.id,
    kind: check.kind,
    status: ok === null ? "na" : ok ? "pass" : check.informational ? "info" : "fail",
    detail,
    severity: check.severity ?? "required",
  })
  if (check.requires !== undefined && !caps[check.requires])
    return out(null, `n/a — system declares no ${check.requires}`)
  const value = check.value ?? Number.NaN
  const oc = m.outcome
  const seq = m.sequence
  switch (check.kind) {
    case "no_hang":
      return out(oc !== "hang", oc !== "hang" ? `ended in ${m.elapsedS.toFixed(1)}s (${oc})` : `HANG: ${m.error}`)
    case "complete": {
      const ok = oc === "success" && m.complete
      return out(ok, ok ? "complete answer" : oc === "success" ? "truncated/altered answer" : oc)
    }
    case "no_truncated_success": {
      const bad = oc === "success" && !m.complete
      return out(
        !bad,
        bad
          ? `success with ${m.contentWords}/60 words`
          : oc === "success"
            ? "complete answer"
            : `no success claimed (${oc})`,
      )
    }
    case "attempts_primary_min":
      return out(m.attemptsPrimary >= value, `${m.attemptsPrimary} primary attempt(s)`)
    case "attempts_primary_max":
      return out(m.attemptsPrimary <= value, `${m.attemptsPrimary} primary attempt(s)`)
    case "attempts_primary_eq":
      return out(m.attemptsPrimary === value, `${m.attemptsPrimary} primary attempt(s)`)
    case "context_retry_discipline": {
      // One attempt is ideal; a retry is acceptable only if smaller than the one before it
      // (an agent harness compacting its context), never a same-size resend.
      const n = m.attemptsPrimary
      const sizes = m.primaryPromptTokens
      if (n <= 1) return out(true, `${n} primary attempt(s)`)
      if (sizes.length < n || sizes.some((s) => s === undefined))
        return out(false, `${n} primary attempts, prompt sizes not recorded`)
      const shrinking = sizes.every((s, i) => i === 0 || s! < sizes[i - 1]!)
      return out(
        shrinking,
        `${n} primary attempts, prompt sizes [${sizes.join(", ")}] — ${shrinking ? "each retry smaller" : "resent at the same or larger size"}`,
      )
    }
    case "attempts_fallback_min":
      return out(m.attemptsFallback >= value, `${m.attemptsFallback} fallback attempt(s)`)
    case "attempts_fallback_max":
      return out(m.attemptsFallback <= value, `${m.attemptsFallback} fallback attempt(s)`)
    case "first_gap_min_s":
      return out(
        m.firstGapS !== null && m.firstGapS >= value,
        m.firstGapS !== null ? `gap ${m.firstGapS.toFixed(2)}s` : "no second attempt",
      )
    case "max_attempts_within": {
      const window = check.windowS ?? 0
      const times = m.primaryTimes
      const n = times.length > 0 ? times.filter((t) => t - times[0]! < window).length : 0
      return out(n <= value, `${n} attempt(s) in first ${window}s`)
    }
    case "wall_max_s":
      return out(oc !== "hang" && m.elapsedS <= value, `${m.elapsedS.toFixed(2)}s (limit ${value.toFixed(2)}s)`)
    case "alive_after":
      return out(
        m.aliveAfter,
        m.aliveAfter ? "healthy call succeeded afterwards" : `healthy call failed afterwards: ${m.aliveError}`,
      )
    case "fallback_used":
      return out(m.attemptsFallback >= 1, `${m.attemptsFallback} fallback attempt(s)`)
    case "reported_model_is_fallback": {
      if (m.attemptsFallback === 0) return out(null, "n/a — the fallback was never used")
      const reported = tagKey(m.reportedModel)
      const fallback = tagKey(m.fallbackModel)
      return out(reported !== "" && reported.includes(fallback), `response.model = ${JSON.stringify(m.reportedModel)}`)
    }
    case "usage_present":
      return out(Boolean(m.usage), m.usage ? `usage = ${JSON.stringify(m.usage)}` : "no usage block")
    case "no_prefill_masking": {
      const masked = oc === "error" && m.prefillRejections > 0
      return out(!masked, `${m.prefillRejections} prefill rejection(s) at the fallback; final outcome ${oc}`)
    }
    case "seq_no_hang":
      return out(seq !== undefined && seq.hangs === 0, `${seq?.hangs} hung request(s) of ${seq?.items.length}`)
    case "seq_served_during_outage": {
      const n = seq?.servedDuringDown ?? 0
      const total = seq?.requestsDuringDown ?? 0
      return out(total > 0 && n === total, `${n}/${total} requests answered while primary was down`)
    }
    case "seq_recovered_within_s": {
      const rec = seq?.recoveredAfterS ?? null
      return out(
        rec !== null && rec <= value,
        rec !== null
          ? `primary answered again ${rec >= 0 ? "+" : ""}${rec.toFixed(1)}s after recovery`
          : "primary never used again after recovery",
      )
    }
    case "seq_probe_discipline": {
      const n = seq?.primaryAttemptsDuringDown ?? 0
      const total = seq?.requestsDuringDown ?? 0
      return out(n <= total, `${n} primary attempt(s) for ${total} request(s) during the outage`)
    }
  }
}

export type Verdict = "pass" | "partial" | "safe" | "fail"

/** `verdict_for`: the ideal outcome (rescue) combined with the conduct checks. */
export const verdictFor = (
  scenario: Scenario,
  checks: ReadonlyArray<CheckResult>,
  m: Metrics,
): { readonly verdict: Verdict; readonly reason: string } => {
  const oc = m.outcome
  const ideal = scenario.ideal ?? "success"
  if (oc === "hang") return { verdict: "fail", reason: "hang" }
  if (oc === "success" && !m.complete && ideal === "success")
    return { verdict: "fail", reason: "truncated answer presented as success" }
  const failedRequired = checks.filter((c) => c.status === "fail" && c.severity !== "advisory").map((c) => c.id)
  if (failedRequired.length > 0) return { verdict: "fail", reason: `failed: ${failedRequired.join(", ")}` }
  const failedAdvisory = checks.filter((c) => c.status === "fail" && c.severity === "advisory").map((c) => c.id)
  let rescued: boolean
  if (ideal === "success") rescued = oc === "success" && m.complete
  else {
    rescued = oc === "error"
    if (oc === "success") return { verdict: "partial", reason: "answered by routing around the rejection" }
  }
  if (rescued) {
    return failedAdvisory.length > 0
      ? { verdict: "partial", reason: `rescued; advisory: ${failedAdvisory.join(", ")}` }
      : { verdict: "pass", reason: "rescued" }
  }
  return { verdict: "safe", reason: `not rescued — clean error: ${String(m.error).slice(0, 80)}` }
}
