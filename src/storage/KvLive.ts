import { type ConfigError, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Kv, KvError } from "./Kv.js"
import * as KvFallback from "./KvFallback.js"
import * as KvMemory from "./KvMemory.js"

/**
 * Redis when `REDIS_URL` is set (shared across instances; per-instance memory while Redis is
 * unreachable, see KvFallback), the in-process store otherwise.
 */
export const KvLive: Layer.Layer<Kv, KvError | ConfigError.ConfigError, AppConfig> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => (Option.isSome(config.redisUrl) ? KvFallback.layerRedis : KvMemory.layer)),
)
