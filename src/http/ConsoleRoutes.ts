import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { type ConsoleAsset, ConsoleAssets } from "./ConsoleAssets.js"

/**
 * The console's page may load and call only the gateway itself: no other origin, no inline
 * script or style, no framing, no plugins.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const SECURITY_HEADERS = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
}

/** A console page (`/ui/providers`): the single-page app's index.html renders it. */
const PAGE = /^[a-z][a-z0-9-]{0,63}$/

/**
 * What `/ui/<rest>` serves: a built file by its exact name, index.html for `/ui`, `/ui/` and a
 * page name, else nothing (404). `rest` is the raw, still percent-encoded path: an encoded `/`,
 * `\`, `.` or `%` is never a file name, so `..`, `%2e%2e`, `..%2f` and the like reach no file.
 */
export const consoleFileOf = (rest: string, names: { readonly has: (name: string) => boolean }): string | undefined => {
  if (rest === "" || rest === "/") return "index.html"
  const name = rest.startsWith("/") ? rest.slice(1) : undefined
  if (name === undefined) return undefined
  if (names.has(name)) return name
  return PAGE.test(name) ? "index.html" : undefined
}

const notFound = (message: string, status = 404) =>
  HttpServerResponse.unsafeJson(
    { _tag: status === 404 ? "NotFound" : "ServiceUnavailable", message },
    { status, headers: SECURITY_HEADERS },
  )

const serveAsset = (asset: ConsoleAsset, ifNoneMatch: string | undefined) => {
  const headers = {
    ...SECURITY_HEADERS,
    etag: asset.etag,
    "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
  }
  if (ifNoneMatch?.split(",").some((tag) => tag.trim() === asset.etag)) {
    return HttpServerResponse.empty({ status: 304, headers })
  }
  return HttpServerResponse.uint8Array(asset.body, { contentType: asset.contentType, headers })
}

const consoleFile = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { assets } = yield* ConsoleAssets
  if (assets === undefined) return notFound("The web console is not built: run `npm run build`", 503)
  const path = request.url.split("?", 1)[0]!
  const name = consoleFileOf(path.slice("/ui".length), assets)
  const asset = name === undefined ? undefined : assets.get(name)
  if (asset === undefined) return notFound("No such file in the console")
  return serveAsset(asset, request.headers["if-none-match"])
})

/** `/` sends a browser to the console. */
const toConsole = Effect.succeed(HttpServerResponse.empty({ status: 302, headers: { location: "/ui/" } }))

/** The web console (console/, built into dist/console/) at `/ui`, and `/` redirecting to it. */
export const consoleRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/", toConsole),
  HttpRouter.get("/ui", consoleFile),
  HttpRouter.get("/ui/*", consoleFile),
)
