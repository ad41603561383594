import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { ApiKeys } from "../../identity/ApiKeys.js"
import { CurrentPrincipal } from "../../identity/Principal.js"
import { Users } from "../../identity/Users.js"
import { type Budget, budgetOfColumns } from "../../shared/Budget.js"
import { type BudgetOwner, Budgets } from "../../usage/Budgets.js"
import { renderBudgetStatus, toBudget } from "./BudgetSchemas.js"
import { NotFound } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { ManagementApi } from "./ManagementApi.js"
import { requireSelfOrSuperuser } from "./Security.js"

export const BudgetsHandlers = HttpApiBuilder.group(ManagementApi, "budgets", (handlers) =>
  Effect.gen(function* () {
    const users = yield* Users
    const keys = yield* ApiKeys
    const budgets = yield* Budgets

    /** The budget's status, or 404 when `budget` is unset. */
    const statusOf = Effect.fn("BudgetsHandlers.statusOf")(function* (
      owner: BudgetOwner,
      ids: { readonly userId: string; readonly apiKeyId: string | null },
      budget: Budget | undefined,
      whose: string,
    ) {
      if (budget === undefined) return yield* new NotFound({ message: `${whose} has no budget` })
      return renderBudgetStatus(ids, yield* budgets.status(owner, budget))
    })

    const userBudget = (userId: string) =>
      Effect.flatMap(users.get(userId), (user) =>
        statusOf(
          { scope: "user", id: user.id },
          { userId: user.id, apiKeyId: null },
          budgetOfColumns(user.budgetNanoUsd, user.budgetPeriod, user.budgetSoft),
          `User '${userId}'`,
        ),
      )

    const keyBudget = (userId: string, keyId: string) =>
      Effect.flatMap(keys.get(userId, keyId), (key) =>
        statusOf(
          { scope: "api_key", id: key.id },
          { userId: key.userId, apiKeyId: key.id },
          key.budget,
          `API key '${keyId}'`,
        ),
      )

    return handlers
      .handle("getUserBudget", ({ path }) =>
        Effect.gen(function* () {
          yield* requireSelfOrSuperuser(yield* CurrentPrincipal, path.user_id)
          return yield* userBudget(path.user_id)
        }).pipe(managed),
      )
      .handle("setUserBudget", ({ path, payload }) =>
        Effect.gen(function* () {
          const user = yield* users.setBudget(path.user_id, toBudget(payload))
          // Spend was counted only while a budget was set: the next read takes it from the database.
          yield* budgets.forget({ scope: "user", id: user.id })
          return yield* userBudget(user.id)
        }).pipe(managed),
      )
      .handle("deleteUserBudget", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* users.setBudget(path.user_id, null)
          yield* budgets.forget({ scope: "user", id: user.id })
        }).pipe(managed),
      )
      .handle("getKeyBudget", ({ path }) =>
        Effect.gen(function* () {
          yield* requireSelfOrSuperuser(yield* CurrentPrincipal, path.user_id)
          return yield* keyBudget(path.user_id, path.key_id)
        }).pipe(managed),
      )
      .handle("setKeyBudget", ({ path, payload }) =>
        Effect.gen(function* () {
          const key = yield* keys.update(path.user_id, path.key_id, { budget: toBudget(payload) })
          yield* budgets.forget({ scope: "api_key", id: key.id })
          return yield* keyBudget(path.user_id, key.id)
        }).pipe(managed),
      )
      .handle("deleteKeyBudget", ({ path }) =>
        Effect.gen(function* () {
          const key = yield* keys.update(path.user_id, path.key_id, { budget: null })
          yield* budgets.forget({ scope: "api_key", id: key.id })
        }).pipe(managed),
      )
  }),
)
