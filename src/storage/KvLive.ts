import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Kv, KvError } from "./Kv.js"
import * as KvMemory from "./KvMemory.js"
import * as KvRedis from "./KvRedis.js"

/** Redis when `REDIS_URL` is set (shared across instances), the in-process store otherwise. */
export const KvLive: Layer.Layer<Kv, KvError, AppConfig> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => (Option.isSome(config.redisUrl) ? KvRedis.layer : KvMemory.layer)),
)
