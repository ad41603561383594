/**
 * failoverbench's scenario catalogue (`scenarios/catalogue.yaml`, methodology v0.1) ported to
 * TypeScript, with every time in it scaled to the short timings this suite runs with.
 *
 * The benchmark's baseline is a 30 s headers/idle timeout and a first-token limit of one's choice
 * (10 s in bench/FAILOVER.md), against walls that stall for 30 s, stay silent for 120 s and so on.
 * Here the gateway's timeouts are about 1 s and the wall's faults scale with them, keeping the
 * ratios that decide each scenario (a silent wall outlasts the headers timeout, a slow first token
 * outlasts the first-token limit, a stall outlasts the idle timeout); each check that measures
 * time says below how its value was scaled. Windows that measure the gateway's own back-off
 * (S02's "no hammering") are not scaled: the gateway's back-off is not either.
 */
import type { WallTiming } from "../../support/FaultWall.js"

/** Gateway timeouts for the suite: the benchmark's baseline, scaled (`GATEWAY_ENV`). */
export const HEADERS_TIMEOUT_MS = 1_000
export const FIRST_TOKEN_TIMEOUT_MS = 500
export const IDLE_TIMEOUT_MS = 1_000
/** Circuit cooldowns scaled like the timeouts (defaults 5 s doubling to 20 s). */
export const CIRCUIT_COOLDOWN_MS = 1_000
export const CIRCUIT_MAX_COOLDOWN_MS = 2_000

/** Env of the gateway under test: the benchmark's allowed baseline (two retries and one fallback are the defaults). */
export const GATEWAY_ENV = {
  UPSTREAM_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS} millis`,
  UPSTREAM_FIRST_TOKEN_TIMEOUT: `${FIRST_TOKEN_TIMEOUT_MS} millis`,
  UPSTREAM_IDLE_TIMEOUT: `${IDLE_TIMEOUT_MS} millis`,
  UPSTREAM_REQUEST_DEADLINE: "10 seconds",
  CIRCUIT_FAILURE_THRESHOLD: "3",
  CIRCUIT_COOLDOWN: `${CIRCUIT_COOLDOWN_MS} millis`,
  CIRCUIT_MAX_COOLDOWN: `${CIRCUIT_MAX_COOLDOWN_MS} millis`,
}

/** The wall's faults, scaled with the gateway's timeouts (the full profile's ratios). */
export const WALL_TIMING: WallTiming = {
  retryAfterS: 1, // the header is whole seconds: 1 is the shortest honest value (benchmark: 2)
  slowTtftMs: 3 * FIRST_TOKEN_TIMEOUT_MS, // full profile: 20 s against a 10 s first-token limit
  stallMs: 2.5 * IDLE_TIMEOUT_MS, // outlasts the idle timeout, so the gateway (not the wall) detects it
  noResponseMs: 4 * HEADERS_TIMEOUT_MS, // full profile: 120 s against a 30 s headers timeout
  flapDownMs: 2_000,
  tokenIntervalMs: 2,
  cutAfterTokens: 40,
  stallAfterTokens: 20,
  malformedAtToken: 10,
}

export const PROMPT =
  "Explain in exactly sixty words why a gateway earns trust only when the provider behind it misbehaves."
export const DEFAULT_FALLBACK = "fb-ok"
/** Guard against a hang (the catalogue's `max_wall_s`, 20–130 s there): every scenario here ends in a few seconds. */
const MAX_WALL_S = 10

export type CheckKind =
  | "no_hang"
  | "complete"
  | "no_truncated_success"
  | "attempts_primary_min"
  | "attempts_primary_max"
  | "attempts_primary_eq"
  | "context_retry_discipline"
  | "attempts_fallback_min"
  | "attempts_fallback_max"
  | "first_gap_min_s"
  | "max_attempts_within"
  | "wall_max_s"
  | "alive_after"
  | "fallback_used"
  | "reported_model_is_fallback"
  | "usage_present"
  | "no_prefill_masking"
  | "seq_no_hang"
  | "seq_served_during_outage"
  | "seq_recovered_within_s"
  | "seq_probe_discipline"

export interface Check {
  readonly id: string
  readonly kind: CheckKind
  readonly value?: number
  readonly windowS?: number
  /** `advisory`: a failure makes the verdict "partial" instead of "fail". */
  readonly severity?: "required" | "advisory"
  /** n/a for systems without a fallback capability (the gateway has one). */
  readonly requires?: "fallback"
  readonly informational?: boolean
}

export interface Sequence {
  readonly count: number
  readonly intervalS: number
  readonly perRequestMaxWallS: number
}

export interface Scenario {
  readonly id: string
  readonly title: string
  readonly model: string
  readonly fallbackModel?: string
  /** `success` (default): the complete canonical answer; `error`: a clean error (S13). */
  readonly ideal?: "success" | "error"
  readonly maxWallS: number
  readonly sequence?: Sequence
  readonly checks: ReadonlyArray<Check>
}

export const fallbackOf = (scenario: Scenario): string => scenario.fallbackModel ?? DEFAULT_FALLBACK

export const SCENARIOS: ReadonlyArray<Scenario> = [
  {
    id: "S01",
    title: "429 with Retry-After",
    model: "fb-s01-429-retry-after",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "retried", kind: "attempts_primary_min", value: 2, severity: "advisory" },
      // 1.8 s for a 2 s Retry-After.
      {
        id: "retry_after_honoured",
        kind: "first_gap_min_s",
        value: 0.9 * WALL_TIMING.retryAfterS,
        severity: "advisory",
      },
      // A 1.5 s window for a 2 s Retry-After: at most the first attempt and one more before it ends.
      { id: "no_hammer", kind: "max_attempts_within", windowS: 0.75 * WALL_TIMING.retryAfterS, value: 2 },
    ],
  },
  {
    id: "S02",
    title: "429 without Retry-After, persistent",
    model: "fb-s02-429-persistent",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_hammer", kind: "max_attempts_within", windowS: 3, value: 4 },
      { id: "bounded_attempts", kind: "attempts_primary_max", value: 6 },
      { id: "no_hang", kind: "no_hang" },
    ],
  },
  {
    id: "S03",
    title: "500 once, then healthy",
    model: "fb-s03-500-then-200",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_hang", kind: "no_hang" },
      { id: "same_provider_retry", kind: "attempts_primary_min", value: 2, severity: "advisory" },
    ],
  },
  {
    id: "S04",
    title: "503 persistent",
    model: "fb-s04-503-persistent",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "bounded_attempts", kind: "attempts_primary_max", value: 6 },
      { id: "no_hang", kind: "no_hang" },
    ],
  },
  {
    id: "S05",
    title: "TCP reset before headers",
    model: "fb-s05-reset",
    maxWallS: MAX_WALL_S,
    checks: [{ id: "no_hang", kind: "no_hang" }],
  },
  {
    id: "S06",
    title: "No response at all",
    model: "fb-s06-no-response",
    maxWallS: MAX_WALL_S,
    checks: [
      // 100 s for 30 s timeouts: two retries of one headers timeout each, plus slack.
      { id: "within_budget", kind: "wall_max_s", value: (100 / 30) * (HEADERS_TIMEOUT_MS / 1000) },
      { id: "no_hang", kind: "no_hang" },
      { id: "silent_route_not_retried", kind: "attempts_primary_max", value: 1, severity: "advisory" },
    ],
  },
  {
    id: "S07",
    title: "Slow first token",
    model: "fb-s07-slow-ttft",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_hang", kind: "no_hang" },
      // 15 s for a 20 s first token: the answer came from the fallback before the slow token did.
      {
        id: "ttft_limit",
        kind: "wall_max_s",
        value: 0.75 * (WALL_TIMING.slowTtftMs / 1000),
        severity: "advisory",
        requires: "fallback",
      },
    ],
  },
  {
    id: "S08",
    title: "Stream cut mid-answer",
    model: "fb-s08-stream-cut",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_truncated_success", kind: "no_truncated_success" },
      { id: "no_hang", kind: "no_hang" },
    ],
  },
  {
    id: "S09",
    title: "Stream stalls",
    model: "fb-s09-stream-stall",
    maxWallS: MAX_WALL_S,
    checks: [
      // 45 s for a 30 s idle timeout; plus 1 s for the gateway's back-off before it asks again,
      // which is not scaled down with the timeouts (a 1.5 s bound alone left it 0.4 s).
      { id: "bounded", kind: "wall_max_s", value: 1.5 * (IDLE_TIMEOUT_MS / 1000) + 1 },
      { id: "no_truncated_success", kind: "no_truncated_success" },
      { id: "alive_after", kind: "alive_after" },
      { id: "no_hang", kind: "no_hang" },
    ],
  },
  {
    id: "S10",
    title: "Malformed chunk in the stream",
    model: "fb-s10-malformed-chunk",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "alive_after", kind: "alive_after" },
      { id: "no_garbage", kind: "no_truncated_success" },
      { id: "no_hang", kind: "no_hang" },
      { id: "recovered_in_place", kind: "complete", severity: "advisory" },
    ],
  },
  {
    id: "S11",
    title: "Stream ends without [DONE]",
    model: "fb-s11-no-done",
    maxWallS: MAX_WALL_S,
    checks: [
      // 8 s against 30 s timeouts: finalised without waiting for any timeout.
      { id: "prompt_finalise", kind: "wall_max_s", value: IDLE_TIMEOUT_MS / 1000 },
      { id: "usage_reported", kind: "usage_present", severity: "advisory" },
    ],
  },
  {
    id: "S12",
    title: "Context length exceeded",
    model: "fb-s12-context-length",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_blind_retry", kind: "context_retry_discipline" },
      { id: "bounded_attempts", kind: "attempts_primary_max", value: 2 },
      { id: "no_hang", kind: "no_hang" },
    ],
  },
  {
    id: "S13",
    title: "Content-filter rejection",
    model: "fb-s13-content-filter",
    ideal: "error",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_same_model_retry", kind: "attempts_primary_eq", value: 1 },
      { id: "no_hang", kind: "no_hang" },
      { id: "fallback_attempted", kind: "fallback_used", severity: "advisory", informational: true },
    ],
  },
  {
    id: "S14",
    title: "Fallback target rejects prefill",
    model: "fb-s14-stream-cut",
    fallbackModel: "fb-ok-noprefill",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "no_prefill_masking", kind: "no_prefill_masking" },
      { id: "no_truncated_success", kind: "no_truncated_success" },
    ],
  },
  {
    id: "S15",
    title: "Primary flaps: down, then healthy",
    model: "fb-s15-flap",
    // Fast profile: 10 requests 1.2 s apart against a 6 s outage; here 12, 0.5 s apart, against 2 s.
    sequence: { count: 12, intervalS: 0.5, perRequestMaxWallS: 5 },
    maxWallS: 30,
    checks: [
      { id: "no_hang", kind: "seq_no_hang" },
      { id: "served_during_outage", kind: "seq_served_during_outage", requires: "fallback" },
      // 30 s with cooldowns growing to 20 s: one and a half maximum cooldowns.
      {
        id: "recovered",
        kind: "seq_recovered_within_s",
        value: 1.5 * (CIRCUIT_MAX_COOLDOWN_MS / 1000),
        requires: "fallback",
      },
      { id: "probe_discipline", kind: "seq_probe_discipline", severity: "advisory", informational: true },
    ],
  },
  {
    id: "S16",
    title: "Fail-over accounting",
    model: "fb-s16-503-persistent",
    maxWallS: MAX_WALL_S,
    checks: [
      { id: "reports_fallback_model", kind: "reported_model_is_fallback", requires: "fallback" },
      { id: "usage_present", kind: "usage_present", requires: "fallback", severity: "advisory" },
      { id: "bounded_attempts", kind: "attempts_primary_max", value: 6 },
    ],
  },
]

/** The 18 wall models a configuration routes: every scenario model, `fb-ok` and `fb-ok-noprefill`. */
export const WALL_MODELS: ReadonlyArray<string> = [...SCENARIOS.map((s) => s.model), "fb-ok", "fb-ok-noprefill"]
