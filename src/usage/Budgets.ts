import { Clock, Deferred, Duration, Effect, FiberId, Metric, Runtime, Schema } from "effect"
import { BUDGET_PERIODS, type Budget, type CallerBudgets } from "../shared/Budget.js"
import { Kv } from "../storage/Kv.js"
import { UsageRepository } from "../storage/UsageRepository.js"
import { type BudgetScope, type BudgetUse, refusalMessage, resetsAt, verdictOf } from "./BudgetLimit.js"
import { type BudgetWindow, counterTtlMs, windowOf } from "./BudgetPeriod.js"
import { type NanoUsd, usdText } from "./Cost.js"
import { UsageLedger } from "./UsageLedger.js"

/** A request refused because a hard budget of its caller is used up (429 `budget_exceeded`). */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  message: Schema.String,
  /** Whose budget: the API key's or its user's. */
  budget: Schema.Literal("api_key", "user"),
  period: Schema.Literal(...BUDGET_PERIODS),
  limitUsd: Schema.String,
  usedUsd: Schema.String,
  /** When the period ends (ISO), null for a total budget. */
  resetsAt: Schema.NullOr(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

/** What a budget's period has spent could not be read: the database or the KV store failed. */
export class BudgetUnknown extends Schema.TaggedError<BudgetUnknown>()("BudgetUnknown", {
  message: Schema.String,
}) {}

/** Who spends: a request's caller as `identity/Principal` describes it. */
export interface BudgetHolder {
  readonly apiKeyId: string | null
  readonly userId: string | null
  readonly budgets?: CallerBudgets | undefined
}

export interface BudgetOwner {
  readonly scope: BudgetScope
  readonly id: string
}

/** Requests served although a soft budget of their caller was used up (for /metrics). */
export const softBudgetOverruns = Metric.counter("budget_soft_limit_exceeded", {
  description: "requests served although a soft budget of their API key or user was used up (logged, never refused)",
  incremental: true,
})

/** Requests refused with 429 budget_exceeded (for /metrics). */
export const budgetRefusals = Metric.counter("budget_refusals", {
  description: "requests refused with 429 budget_exceeded before any upstream was called",
  incremental: true,
})

/** A seeded counter lives at most this long, then is read again from the database (README "Budgets"). */
export const RESEED_INTERVAL_MS = 3_600_000
/** Seeding waits this long for the database (and the ledger's flush) before the request is served unchecked. */
const SEED_TIMEOUT = Duration.seconds(2)
/** After a failed seed, requests needing one are served unchecked for this long without asking again. */
const SEED_RETRY_MS = 1_000
/** At most one log line per soft budget (and one for unchecked requests) per this interval, per instance. */
const LOG_INTERVAL_MS = 60_000

/** One budget of a request, its current period and the Kv key of that period's spend. */
interface Tracked {
  readonly owner: BudgetOwner
  readonly budget: Budget
  readonly window: BudgetWindow
  readonly key: string
}

/** The Kv key of an owner's spend in one period (a new period, or another kind of period, is a new key). */
const counterKey = (owner: BudgetOwner, budget: Budget, window: BudgetWindow): string =>
  `budget:spent:${owner.scope}:${owner.id}:${budget.period}:${window.startMs}`

const track = (owner: BudgetOwner, budget: Budget, nowMs: number): Tracked => {
  const window = windowOf(budget.period, nowMs)
  return { owner, budget, window, key: counterKey(owner, budget, window) }
}

/** The budgets `holder` is held to, in their periods at `nowMs` (the key's first). */
const trackedOf = (holder: BudgetHolder, budgets: CallerBudgets, nowMs: number): ReadonlyArray<Tracked> => {
  const tracked: Array<Tracked> = []
  if (budgets.key !== undefined && holder.apiKeyId !== null)
    tracked.push(track({ scope: "api_key", id: holder.apiKeyId }, budgets.key, nowMs))
  if (budgets.user !== undefined && holder.userId !== null)
    tracked.push(track({ scope: "user", id: holder.userId }, budgets.user, nowMs))
  return tracked
}

const useOf = (tracked: Tracked, usedNanoUsd: number): BudgetUse => ({
  scope: tracked.owner.scope,
  budget: tracked.budget,
  window: tracked.window,
  usedNanoUsd,
})

const reasonOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error)

/**
 * Spend limits per API key and per user (issue 15 item 3; README "Budgets").
 *
 * Each budget's spend in its current period is a counter in Kv, shared by every instance:
 * `budget:spent:<api_key|user>:<id>:<period>:<period start>`, in nano-dollars. A request is
 * checked before any upstream is called — one Kv read of its key's and user's counters — and an
 * answered attempt's cost is added to them (`recordSpend`, off the response's path).
 *
 * A counter exists only once seeded: when it is missing (a new period, a restart without Redis,
 * an expired counter) the period's spend is read from the database (`usage_minutes`, after this
 * instance's pending usage is written) and stored with SET-if-absent; increments of a missing
 * counter are dropped (`incrIfPresent`), as the database will have them. A counter lives until its
 * period ends and at most RESEED_INTERVAL_MS, so one that missed spend is right again within it.
 * Only callers with a budget cost any Kv command.
 */
export class Budgets extends Effect.Service<Budgets>()("gateway/usage/Budgets", {
  effect: Effect.gen(function* () {
    const kv = yield* Kv
    const repository = yield* UsageRepository
    const ledger = yield* UsageLedger
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())

    const seeding = new Map<string, Deferred.Deferred<number, BudgetUnknown>>()
    let seedDownUntil = 0
    const lastLogged = new Map<string, number>()

    /** Whether a line about `topic` may be logged now (at most one per LOG_INTERVAL_MS). */
    const mayLog = (topic: string, nowMs: number): boolean => {
      const last = lastLogged.get(topic)
      if (last !== undefined && nowMs - last < LOG_INTERVAL_MS) return false
      if (lastLogged.size > 10_000) lastLogged.clear()
      lastLogged.set(topic, nowMs)
      return true
    }

    /** The period's spend from the database, stored as the counter unless another instance stored it first. */
    const seed = (tracked: Tracked) =>
      Effect.gen(function* () {
        // This instance's pending usage first: the database then has every answer made here so far.
        yield* ledger.flush
        const { owner, window } = tracked
        const spent = yield* repository.spentSince(
          owner.scope === "api_key" ? { apiKeyId: owner.id } : { userId: owner.id },
          new Date(window.startMs),
        )
        const ttl = Duration.millis(counterTtlMs(window, yield* Clock.currentTimeMillis, RESEED_INTERVAL_MS))
        if (yield* kv.setIfAbsent(tracked.key, String(spent), ttl)) return spent
        const stored = yield* kv.get(tracked.key)
        return stored === undefined ? spent : Number(stored)
      }).pipe(
        Effect.timeoutFail({
          duration: SEED_TIMEOUT,
          onTimeout: () => new BudgetUnknown({ message: "the database did not answer in time" }),
        }),
        Effect.catchAll((error) =>
          Effect.fail(error instanceof BudgetUnknown ? error : new BudgetUnknown({ message: reasonOf(error) })),
        ),
        Effect.tapError(() => Effect.sync(() => (seedDownUntil = Date.now() + SEED_RETRY_MS))),
      )

    /**
     * The seeded spend of `tracked`: one seed per counter at a time on this instance, run apart
     * from the request so a client that leaves does not cut it short for the others waiting.
     */
    const seeded = (tracked: Tracked): Effect.Effect<number, BudgetUnknown> =>
      Effect.suspend(() => {
        const running = seeding.get(tracked.key)
        if (running !== undefined) return Deferred.await(running)
        if (Date.now() < seedDownUntil)
          return Effect.fail(new BudgetUnknown({ message: "the database failed a moment ago" }))
        const done = Deferred.unsafeMake<number, BudgetUnknown>(FiberId.none)
        seeding.set(tracked.key, done)
        runFork(
          seed(tracked).pipe(
            Effect.exit,
            Effect.flatMap((exit) => Deferred.done(done, exit)),
            Effect.ensuring(Effect.sync(() => seeding.delete(tracked.key))),
          ),
        )
        return Deferred.await(done)
      })

    /** What each tracked budget's period has spent: one Kv read for all, a seed for each missing. */
    const spentOf = Effect.fnUntraced(function* (tracked: ReadonlyArray<Tracked>) {
      const stored = yield* kv
        .getMany(tracked.map((t) => t.key))
        .pipe(Effect.mapError((error) => new BudgetUnknown({ message: error.message })))
      const spent = stored.map((value) => (value === undefined ? undefined : Number(value)))
      // The usual case: every counter is there, and nothing more is asked.
      if (!spent.includes(undefined)) return spent as ReadonlyArray<number>
      return yield* Effect.forEach(
        tracked,
        (t, i) => (spent[i] === undefined ? seeded(t) : Effect.succeed(spent[i]!)),
        { concurrency: "unbounded" },
      )
    })

    const refuse = (use: BudgetUse, nowMs: number) =>
      Metric.increment(budgetRefusals).pipe(
        Effect.zipRight(
          new BudgetExceeded({
            message: refusalMessage(use),
            budget: use.scope,
            period: use.budget.period,
            limitUsd: usdText(use.budget.amountNanoUsd),
            usedUsd: usdText(use.usedNanoUsd),
            resetsAt: resetsAt(use),
            ...(use.window.endMs === null ? {} : { retryAfterMs: use.window.endMs - nowMs }),
          }),
        ),
      )

    const overSoft = (tracked: Tracked, use: BudgetUse, nowMs: number) =>
      Metric.increment(softBudgetOverruns).pipe(
        Effect.zipRight(
          mayLog(tracked.key, nowMs)
            ? Effect.logWarning("soft budget exceeded: request served (a soft budget never refuses)").pipe(
                Effect.annotateLogs({
                  budget: use.scope,
                  [use.scope === "api_key" ? "api_key_id" : "user_id"]: tracked.owner.id,
                  period: use.budget.period,
                  limit_usd: usdText(use.budget.amountNanoUsd),
                  used_usd: usdText(use.usedNanoUsd),
                }),
              )
            : Effect.void,
        ),
      )

    const enforce = Effect.fnUntraced(function* (holder: BudgetHolder, budgets: CallerBudgets) {
      const now = yield* Clock.currentTimeMillis
      const tracked = trackedOf(holder, budgets, now)
      if (tracked.length === 0) return
      const spent = yield* spentOf(tracked)
      const uses = tracked.map((t, i) => useOf(t, spent[i]!))
      const verdict = verdictOf(uses)
      for (const use of verdict.overSoft) yield* overSoft(tracked[uses.indexOf(use)]!, use, now)
      if (verdict.refused !== undefined) return yield* refuse(verdict.refused, now)
    })

    /**
     * Refuses the request with `BudgetExceeded` when a hard budget of its caller is used up.
     * Callers without a budget cost nothing. When the spend cannot be read (the database and the
     * KV store failing), the request is served and a warning logged: a budget is not a reason to
     * stop serving while storage is down.
     */
    const check = (holder: BudgetHolder): Effect.Effect<void, BudgetExceeded> =>
      holder.budgets === undefined
        ? Effect.void
        : enforce(holder, holder.budgets).pipe(
            Effect.catchTag("BudgetUnknown", (error) =>
              mayLog("unchecked", Date.now())
                ? Effect.logWarning("budget not checked: its spend could not be read; request served").pipe(
                    Effect.annotateLogs("reason", error.message),
                  )
                : Effect.void,
            ),
          )

    const addSpend = Effect.fnUntraced(function* (tracked: ReadonlyArray<Tracked>, cost: NanoUsd) {
      for (const t of tracked) yield* kv.incrIfPresent(t.key, cost)
    })

    /**
     * Adds an answered attempt's cost to its caller's budget counters (synchronous for the caller;
     * the Kv commands run in the background). Unpriced answers (null) cost nothing.
     */
    const recordSpend = (holder: BudgetHolder, cost: NanoUsd | null): void => {
      if (holder.budgets === undefined || cost === null || cost <= 0) return
      const tracked = trackedOf(holder, holder.budgets, Date.now())
      if (tracked.length === 0) return
      runFork(
        addSpend(tracked, cost).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(
              "budget spend not counted; the counter is read again from the database within the hour",
            ).pipe(Effect.annotateLogs("reason", error.message)),
          ),
        ),
      )
    }

    /** `owner`'s budget with what its current period has spent (the management API's view). */
    const status = Effect.fnUntraced(function* (owner: BudgetOwner, budget: Budget) {
      const tracked = track(owner, budget, yield* Clock.currentTimeMillis)
      const [spent] = yield* spentOf([tracked])
      return useOf(tracked, spent!)
    })

    /**
     * Drops `owner`'s counters of the current periods, after its budget was set or removed: the
     * next request reads the spend from the database again (spend was not counted while no budget
     * was set, and a changed period is a new counter).
     */
    const forget = Effect.fnUntraced(function* (owner: BudgetOwner) {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.forEach(BUDGET_PERIODS, (period) => {
        const budget: Budget = { amountNanoUsd: 0, period, soft: false }
        return kv.del(counterKey(owner, budget, windowOf(period, now)))
      }).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(
            "budget counters not reset after a change; they are read again from the database within the hour",
          ).pipe(Effect.annotateLogs("reason", error.message)),
        ),
      )
    })

    return { check, recordSpend, status, forget } as const
  }),
  dependencies: [UsageRepository.Default],
}) {}
