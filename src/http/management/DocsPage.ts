import { createRequire } from "node:module"
import * as path from "node:path"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect } from "effect"

/** Where `swagger-ui-dist` keeps its built assets. */
const assets = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"))

/** A JSON document made safe to embed in a `<script>` element. */
const embeddedJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c")

/**
 * `/docs`: Swagger UI over the management API's OpenAPI document. The Swagger UI bundle is
 * streamed from `swagger-ui-dist` on disk when a browser asks for it, rather than held in memory
 * by every gateway process (the platform's own Swagger page embeds ≈ 7 MB of script as strings).
 */
export const DocsPageLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const { api } = yield* HttpApi.Api
    const spec = OpenApi.fromApi(api)
    const page = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>${spec.info.title.replace(/[<>&"]/g, "")} Documentation</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script id="swagger-spec" type="application/json">${embeddedJson(spec)}</script>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.onload = () => {
      window.ui = SwaggerUIBundle({ spec: JSON.parse(document.getElementById("swagger-spec").textContent), dom_id: "#swagger-ui" })
    }
  </script>
</body>
</html>`
    yield* router.get("/docs", Effect.succeed(HttpServerResponse.html(page)))
    yield* router.get(
      "/docs/swagger-ui-bundle.js",
      HttpServerResponse.file(path.join(assets, "swagger-ui-bundle.js"), {
        contentType: "text/javascript; charset=utf-8",
      }),
    )
    yield* router.get(
      "/docs/swagger-ui.css",
      HttpServerResponse.file(path.join(assets, "swagger-ui.css"), { contentType: "text/css; charset=utf-8" }),
    )
  }),
)
