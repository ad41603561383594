import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as Database from "../storage/Database.js"
import { Kv } from "../storage/Kv.js"
import { Draining } from "./Draining.js"

/**
 * Liveness: the process serves HTTP. No auth, no dependencies. 503 `draining` once it was told to
 * stop (`SHUTDOWN_DRAIN`): a load balancer takes it out of rotation while it still answers.
 */
const health = Effect.map(Draining, (draining) =>
  draining.isDraining()
    ? HttpServerResponse.unsafeJson({ status: "draining" }, { status: 503 })
    : HttpServerResponse.unsafeJson({ status: "ok" }),
)

/** Readiness: the database and the KV store both answer; 503 naming the one that does not. */
const ready = Effect.gen(function* () {
  const kv = yield* Kv
  const [database, store] = yield* Effect.all(
    [
      Database.ping.pipe(Effect.timeout("2 seconds"), Effect.either),
      kv.ping.pipe(Effect.timeout("2 seconds"), Effect.either),
    ],
    { concurrency: 2 },
  )
  const checks = {
    database: database._tag === "Right" ? "ok" : "unavailable",
    kv: store._tag === "Right" ? "ok" : "unavailable",
  }
  const ok = database._tag === "Right" && store._tag === "Right"
  return HttpServerResponse.unsafeJson({ status: ok ? "ready" : "unavailable", checks }, { status: ok ? 200 : 503 })
})

export const healthRoutes = HttpRouter.empty.pipe(HttpRouter.get("/health", health), HttpRouter.get("/ready", ready))
