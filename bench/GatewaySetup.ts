/**
 * How a bench run sets up a gateway (bench/run.ts, bench/compare.ts): its providers file — `bench`
 * (OpenAI protocol, model `gpt-4o-mini`: the passthrough) and `bench-anthropic` (Anthropic
 * protocol, model `claude-bench`: the translated path), both at the bench upstream — and its
 * environment: production mode, INFO logging, the master key, embedded storage only.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"

/** Writes the providers file for an upstream at `upstreamUrl` to `file`. */
export const writeGatewayConfig = (file: string, upstreamUrl: string): void =>
  fs.writeFileSync(
    file,
    JSON.stringify({
      providers: [
        {
          id: "bench",
          protocol: "openai",
          base_url: upstreamUrl,
          keys: [{ value: "sk-bench-upstream-0000000000", label: "main" }],
          models: ["gpt-4o-mini"],
        },
        {
          id: "bench-anthropic",
          protocol: "anthropic",
          base_url: upstreamUrl,
          keys: [{ value: "sk-ant-bench-upstream-0000000000", label: "main" }],
          models: ["claude-bench"],
        },
      ],
    }),
  )

/** The gateway's environment: never the database, Redis or log time zone of whoever runs the bench. */
export const gatewayEnv = (options: {
  readonly port: number
  readonly dataDir: string
  readonly configFile: string
  readonly masterKey: string
}): Record<string, string | undefined> => {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: "production",
    SECRET_KEY: randomBytes(48).toString("base64url"),
    PORT: String(options.port),
    HOST: "127.0.0.1",
    DATA_DIR: options.dataDir,
    GATEWAY_CONFIG: options.configFile,
    GATEWAY_MASTER_KEY: options.masterKey,
    LOG_LEVEL: "INFO",
  }
  delete env.DATABASE_URL
  delete env.REDIS_URL
  delete env.LOG_TIMEZONE
  return env
}
