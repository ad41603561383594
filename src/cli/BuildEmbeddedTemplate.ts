/**
 * `node dist/gateway/build-embedded-template.js [file]`, run by `npm run build`: makes the embedded
 * database template that a first start unpacks instead of running PGlite's initdb
 * (`storage/EmbeddedTemplate`), by default at `dist/embedded-database.template`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import * as EmbeddedTemplate from "../storage/EmbeddedTemplate.js"
import { buildTemplate } from "../storage/EmbeddedTemplateBuild.js"

const file = process.argv[2] ?? EmbeddedTemplate.TEMPLATE_FILE
buildTemplate(file).pipe(
  Effect.tap((bytes) =>
    Effect.sync(() => process.stdout.write(`embedded database template: ${file} (${Math.round(bytes / 1024)} KiB)\n`)),
  ),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
