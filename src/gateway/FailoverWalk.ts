import { Effect, Either } from "effect"
import { retryAndFailover } from "../routing/RetryPolicy.js"
import type { Attempt } from "./Attempt.js"
import { giveUpError } from "./GiveUp.js"
import { type AttemptFailed, panicTarget, type Walk } from "./RequestWalk.js"

/** The walk as RetryPolicy's program: `attempt(walk, i)` per candidate, on the schedules. */
const runWalk = (attempt: Attempt, walk: Walk) =>
  Effect.either(
    retryAndFailover(walk.candidates.length, (i: number) => attempt(walk, i), walk.limits.retry, walk.deadline),
  )

/**
 * Everything after a request's first failed attempt (the healthy path never gets here): the
 * walk on the retry and failover schedules, then panic mode when it sent nothing, then the
 * client's error.
 */
export const walkAfterFirstFailure = Effect.fnUntraced(function* (attempt: Attempt, walk: Walk, first: AttemptFailed) {
  if (first.invalid !== undefined) return yield* first.invalid
  walk.replay = first
  let result = yield* runWalk(attempt, walk)
  if (Either.isLeft(result) && result.left.invalid === undefined && walk.last === undefined && !walk.panic) {
    const target = panicTarget(walk)
    if (target !== undefined) {
      walk.panic = true
      walk.candidates = [target]
      walk.prepared = -1
      result = yield* runWalk(attempt, walk)
    }
  }
  if (Either.isRight(result)) return result.right
  if (result.left.invalid !== undefined) return yield* result.left.invalid
  return yield* Effect.fail(giveUpError(walk))
})
