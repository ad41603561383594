import { HttpApiBuilder } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { createFirstSuperuser } from "../../identity/Bootstrap.js"
import { Conflict, ManagementApi } from "../ManagementApi.js"
import { managed } from "./Errors.js"

export const SystemHandlers = HttpApiBuilder.group(ManagementApi, "system", (handlers) =>
  handlers
    .handle("adminInit", ({ payload }) =>
      Effect.gen(function* () {
        const created = yield* createFirstSuperuser({
          username: payload.username,
          email: payload.email,
          displayName: payload.display_name,
        })
        if (created === undefined) return yield* new Conflict({ message: "System already has users" })
        return {
          user_id: created.userId,
          username: created.username,
          email: created.email,
          password: Redacted.value(created.password),
          api_key: Redacted.value(created.apiKey),
        }
      }).pipe(managed),
    )
    .handle("generateSecretKey", ({ payload }) =>
      Effect.sync(() => ({
        secret_key: randomBytes(payload.length).toString("base64url"),
        hint:
          "Set it as SECRET_KEY in the environment of every gateway instance and restart them; " +
          "to rotate, first move the current value to SECRET_KEY_PREVIOUS so stored keys stay readable.",
      })),
    ),
)
