import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Redacted } from "effect"
import { ApiKeys, type Expiry } from "../../identity/ApiKeys.js"
import { CurrentPrincipal } from "../../identity/Principal.js"
import { Users } from "../../identity/Users.js"
import { Budgets } from "../../usage/Budgets.js"
import { toBudget } from "./BudgetSchemas.js"
import { BadRequest, CoreApi, Forbidden } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { renderAllowList, renderApiKey } from "./Render.js"
import { requireSelfOrSuperuser } from "./Security.js"

export const ApiKeysHandlers = HttpApiBuilder.group(CoreApi, "apiKeys", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys
    const users = yield* Users
    const budgets = yield* Budgets

    /** The caller may manage `userId`'s keys, and that user exists. */
    const owner = (userId: string) =>
      Effect.gen(function* () {
        yield* requireSelfOrSuperuser(yield* CurrentPrincipal, userId)
        yield* users.get(userId)
      })

    /**
     * What a non-superuser may do to an existing key of their own: rename it, deactivate it,
     * delete it, turn the keeping of its bodies in the request log on or off (their own data). Allow-lists, limits, expiry and reactivation are a superuser's, so a restriction
     * an administrator set stays set.
     */
    const requireOwnerChange = (payload: {
      readonly expiry?: unknown
      readonly expires_at?: unknown
      readonly is_active?: boolean | undefined
      readonly allowed_provider_ids?: unknown
      readonly requests_per_minute?: unknown
      readonly tokens_per_minute?: unknown
      readonly budget?: unknown
    }) =>
      Effect.flatMap(CurrentPrincipal, (principal) => {
        if (principal.isSuperuser) return Effect.void
        const widened = [
          payload.expiry !== undefined && "expiry",
          payload.expires_at !== undefined && "expires_at",
          payload.is_active === true && "is_active",
          payload.allowed_provider_ids !== undefined && "allowed_provider_ids",
          payload.requests_per_minute !== undefined && "requests_per_minute",
          payload.tokens_per_minute !== undefined && "tokens_per_minute",
          payload.budget !== undefined && "budget",
        ].filter((field): field is string => field !== false)
        return widened.length === 0 ? Effect.void : Effect.fail(restricted(widened))
      })

    const restricted = (fields: ReadonlyArray<string>) =>
      new Forbidden({
        message:
          "Only a superuser may change a key's allow-list, limits, budget or expiry, or reactivate it; you may rename, deactivate or delete your own keys",
        details: { fields },
      })

    const superuserOnly = (field: string) =>
      Effect.flatMap(CurrentPrincipal, (principal) =>
        principal.isSuperuser ? Effect.void : Effect.fail(restricted([field])),
      )

    /** `expiry` (a lifetime) or `expires_at` (an exact time): at most one of them. */
    const expiryOf = (payload: { readonly expiry?: Expiry | undefined; readonly expires_at?: Date | undefined }) =>
      payload.expiry !== undefined && payload.expires_at !== undefined
        ? Effect.fail(new BadRequest({ message: "Give expiry or expires_at, not both" }))
        : Effect.succeed(payload.expires_at ?? payload.expiry)

    return handlers
      .handle("list", ({ path }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(keys.list(path.user_id)),
          Effect.map((rows) => rows.map(renderApiKey)),
          managed,
        ),
      )
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* owner(path.user_id)
          const expiry = yield* expiryOf(payload)
          const { key, token } = yield* keys.create(path.user_id, {
            name: payload.name,
            expiry: expiry ?? "never",
            allowedProviderIds: payload.allowed_provider_ids,
            requestsPerMinute: payload.requests_per_minute,
            tokensPerMinute: payload.tokens_per_minute,
            budget: payload.budget === undefined || payload.budget === null ? undefined : toBudget(payload.budget),
            logBodies: payload.log_bodies,
          })
          return { ...renderApiKey(key), token: Redacted.value(token) }
        }).pipe(managed),
      )
      .handle("get", ({ path }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(keys.get(path.user_id, path.key_id)),
          Effect.map(renderApiKey),
          managed,
        ),
      )
      .handle("update", ({ path, payload }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(requireOwnerChange(payload)),
          Effect.zipRight(expiryOf(payload)),
          Effect.flatMap((expiry) =>
            keys.update(path.user_id, path.key_id, {
              name: payload.name,
              expiry,
              isActive: payload.is_active,
              allowedProviderIds: payload.allowed_provider_ids,
              requestsPerMinute: payload.requests_per_minute,
              tokensPerMinute: payload.tokens_per_minute,
              budget:
                payload.budget === undefined ? undefined : payload.budget === null ? null : toBudget(payload.budget),
              logBodies: payload.log_bodies,
            }),
          ),
          // A new budget is counted afresh from the database (BudgetsHandlers).
          Effect.tap((key) =>
            payload.budget === undefined ? Effect.void : budgets.forget({ scope: "api_key", id: key.id }),
          ),
          Effect.map(renderApiKey),
          managed,
        ),
      )
      .handle("delete", ({ path }) =>
        owner(path.user_id).pipe(Effect.zipRight(keys.remove(path.user_id, path.key_id)), managed),
      )
      .handle("getAllowedProviders", ({ path }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(keys.get(path.user_id, path.key_id)),
          Effect.map(renderAllowList),
          managed,
        ),
      )
      .handle("setAllowedProviders", ({ path, payload }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(superuserOnly("allowed_provider_ids")),
          Effect.zipRight(keys.setAllowedProviders(path.user_id, path.key_id, payload.allowed_provider_ids)),
          Effect.map(renderAllowList),
          managed,
        ),
      )
      .handle("removeAllowedProvider", ({ path }) =>
        owner(path.user_id).pipe(
          Effect.zipRight(superuserOnly("allowed_provider_ids")),
          Effect.zipRight(keys.removeAllowedProvider(path.user_id, path.key_id, path.provider_id)),
          Effect.map(renderAllowList),
          managed,
        ),
      )
  }),
)
