import { Effect } from "effect"
import { checkUpstreamProviders, loadGatewayFile } from "../config/GatewayFile.js"

/**
 * `apiproxy check-config <file>`: validates a providers file as start-up would — syntax, every
 * field, references inside the file, `value_env` variables set in this environment — without
 * a database or a server. Every problem is reported at once (GatewayFileError). A logical model
 * naming a provider the file does not define is only noted: it may exist in the database.
 */
export const checkConfig = (file: string) =>
  Effect.gen(function* () {
    const parsed = yield* loadGatewayFile(file)
    const outside = checkUpstreamProviders(parsed, new Set())
    const keys = parsed.providers.reduce((sum, provider) => sum + provider.keys.length, 0)
    const lines = [
      `${file}: valid — ${parsed.providers.length} provider(s) with ${keys} key(s), ${parsed.logicalModels.length} logical model(s)${parsed.prune ? ", prune: true" : ""}`,
      ...(outside === undefined
        ? []
        : [
            `note: ${outside} in this file; start-up accepts it only if that provider exists in the database${parsed.prune ? " (not with prune: true)" : ""}`,
          ]),
    ]
    yield* Effect.sync(() => process.stdout.write(lines.join("\n") + "\n"))
  })
