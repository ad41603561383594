import { randomBytes, timingSafeEqual } from "node:crypto"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import { createFirstSuperuser } from "../../identity/Bootstrap.js"
import { readCredential } from "../Credentials.js"
import { Conflict, CoreApi, Unauthorized } from "./CoreApi.js"
import { managed } from "./Errors.js"

const sameSecret = (a: string, b: string): boolean => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

export const SystemHandlers = HttpApiBuilder.group(CoreApi, "system", (handlers) =>
  handlers
    .handle("adminInit", ({ payload }) =>
      Effect.gen(function* () {
        // With a master key configured, only its holder may create the first superuser: the
        // window between start and init is never open to anyone who can reach the port.
        const config = yield* AppConfig
        if (Option.isSome(config.masterKey)) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const given = readCredential(request, "openai")
          if (given === undefined || !sameSecret(given, Redacted.value(config.masterKey.value))) {
            return yield* new Unauthorized({
              message: "GATEWAY_MASTER_KEY is set: send it as 'Authorization: Bearer <key>'",
            })
          }
        }
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
