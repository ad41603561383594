import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { CurrentPrincipal } from "../../identity/Principal.js"
import { Users } from "../../identity/Users.js"
import { BadRequest, CoreApi } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { renderUser } from "./Render.js"
import { requireSelfOrSuperuser } from "./Security.js"

export const UsersHandlers = HttpApiBuilder.group(CoreApi, "users", (handlers) =>
  Effect.gen(function* () {
    const users = yield* Users
    return handlers
      .handle("create", ({ payload }) =>
        users
          .create({
            username: payload.username,
            email: payload.email,
            password: payload.password,
            displayName: payload.display_name,
            avatar: payload.avatar,
            isSuperuser: payload.is_superuser,
          })
          .pipe(Effect.map(renderUser), managed),
      )
      .handle("list", () =>
        users.list.pipe(
          Effect.map((rows) => rows.map(renderUser)),
          managed,
        ),
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireSelfOrSuperuser(yield* CurrentPrincipal, path.user_id)
          return renderUser(yield* users.get(path.user_id))
        }).pipe(managed),
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          yield* requireSelfOrSuperuser(principal, path.user_id)
          const { current_password, ...changes } = payload
          if (Object.values(changes).every((v) => v === undefined)) {
            return yield* new BadRequest({ message: "Give at least one of email, password, display_name, avatar" })
          }
          // A session changing its own credentials proves it knows the password: a stolen access
          // token alone cannot take the account over. (Superuser API keys and the master key are
          // administration, and set anyone's.)
          const ownCredentials =
            principal.kind === "jwt" &&
            principal.userId === path.user_id &&
            (changes.password !== undefined || changes.email !== undefined)
          if (ownCredentials) {
            if (current_password === undefined) {
              return yield* new BadRequest({
                message: "current_password: required to change your own password or email",
              })
            }
            yield* users.checkPassword(path.user_id, current_password)
          }
          return renderUser(
            yield* users.update(path.user_id, {
              email: payload.email,
              password: payload.password,
              displayName: payload.display_name,
              avatar: payload.avatar,
            }),
          )
        }).pipe(managed),
      )
      .handle("setStatus", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          if (principal.userId === path.user_id && !payload.is_active) {
            return yield* new BadRequest({ message: "You cannot deactivate your own account" })
          }
          return renderUser(yield* users.setActive(path.user_id, payload.is_active))
        }).pipe(managed),
      )
  }),
)
