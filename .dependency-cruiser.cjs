/**
 * The layering of `src/`, as docs/ARCHITECTURE.md ("Layering") states it, in rules that
 * dependency-cruiser checks. `test/unit/architecture/Layering.test.ts` runs them with `npm test`;
 * by hand: `npx depcruise src migrations --config .dependency-cruiser.cjs`.
 *
 * A folder may import itself, the folders listed for it below, and npm packages except the
 * ones the "only … may" rules reserve. Change this table and the document together.
 */

/** Folder → the `src/` folders it may import (besides itself). Lower layers first. */
const LAYERS = {
  shared: [],
  config: ["shared"],
  crypto: ["config", "shared"],
  protocol: ["shared"],
  storage: ["config", "crypto", "shared"],
  identity: ["storage", "crypto", "config", "shared"],
  registry: ["storage", "crypto", "config", "shared"],
  routing: ["registry", "identity", "storage", "config", "shared"],
  conversation: ["routing", "storage", "config", "shared"],
  upstream: ["routing", "registry", "storage", "config", "shared"],
  usage: ["protocol", "storage", "config", "shared"],
  metrics: ["usage", "routing", "registry", "storage", "config", "shared"],
  telemetry: ["config", "shared"],
  gateway: [
    "protocol",
    "routing",
    "upstream",
    "conversation",
    "usage",
    "telemetry",
    "metrics",
    "registry",
    "identity",
    "storage",
    "crypto",
    "config",
    "shared",
  ],
  http: [
    "gateway",
    "protocol",
    "routing",
    "upstream",
    "conversation",
    "usage",
    "telemetry",
    "metrics",
    "registry",
    "identity",
    "storage",
    "crypto",
    "config",
    "shared",
  ],
  cli: ["identity", "storage", "config", "shared"],
  // The bundled mock provider (`npm run demo`, the tests): a server of its own, apart from the
  // gateway. No folder lists it, so no layer of the gateway imports it; src/demo.ts starts it.
  mock: [],
}

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: `src/${folder}/ may import only ${allowed.length === 0 ? "no other folder of src/" : allowed.map((f) => `src/${f}/`).join(", ")} (docs/ARCHITECTURE.md, Layering)`,
  severity: "error",
  from: { path: `^src/${folder}/` },
  // Folders only: the root files (App.ts, main.ts) have their own rule, folder-imports-root.
  to: { path: "^src/[^/]+/", pathNot: `^src/(${[folder, ...allowed].join("|")})/` },
}))

/** npm modules (as resolved under node_modules/) that one layer alone may use. */
const SQL_AND_KV_DRIVERS = "(^|/)node_modules/(@effect/sql-pg/|@effect/sql/|ioredis/|@electric-sql/)"
const HTTP_SERVER =
  "(^|/)node_modules/(@effect/platform/.*(HttpServer|HttpRouter|HttpApi|HttpApp|HttpMiddleware|OpenApi)|@effect/platform-node/.*NodeHttpServer)"
const UPSTREAM_CLIENT = "(^|/)node_modules/(undici/|eventsource-parser/)"

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "folder-imports-root",
      comment:
        "src/App.ts, src/main.ts, src/Cli.ts, src/demo.ts and src/HeapTuning.ts compose and start the app: nothing below them imports them",
      severity: "error",
      from: { path: "^src/[^/]+/" },
      to: { path: "^src/[^/]+\\.ts$" },
    },
    {
      name: "migrations-layer",
      comment:
        "migrations/ may import only src/config/, src/crypto/ and src/shared/ (they run inside storage/Database)",
      severity: "error",
      from: { path: "^migrations/" },
      to: { path: "^src/", pathNot: "^src/(config|crypto|shared)/" },
    },
    {
      name: "only-storage-runs-sql",
      comment:
        "only src/storage/ (and migrations/) run SQL or Redis commands: the drivers and SqlClient are theirs (SqlError, a type in error channels, is not reserved)",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/storage/" },
      to: { path: SQL_AND_KV_DRIVERS, pathNot: "(^|/)node_modules/@effect/sql/dist/[^/]+/SqlError" },
    },
    {
      name: "only-http-serves-http",
      comment: "only src/http/ knows the HTTP server side (routes, HttpApi, server requests and responses)",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: "^src/http/" },
      to: { path: HTTP_SERVER },
    },
    {
      name: "only-http-uses-node-net",
      comment: "only src/http/ (and src/mock/, the mock provider's own server) opens sockets and servers",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: "^src/(http|mock)/" },
      to: { dependencyTypes: ["core"], path: "^(node:)?(http|https|net|http2)$" },
    },
    {
      name: "only-upstream-calls-providers",
      comment:
        "only src/upstream/ holds the HTTP client of provider calls; src/gateway/ reads their SSE bodies (StreamCommit)",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(upstream|gateway)/" },
      to: { path: UPSTREAM_CLIENT },
    },
    {
      name: "pure-protocol",
      comment: "src/protocol/ is plain functions over Schemas: effect only, no Node built-ins, no other package",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: {
        dependencyTypes: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"],
        pathNot: "(^|/)node_modules/effect/",
      },
    },
    {
      name: "no-io-in-routing",
      comment:
        "src/routing/ does no I/O of its own: shared state goes through storage/Kv, no Node built-ins or drivers",
      severity: "error",
      from: { path: "^src/routing/" },
      to: {
        dependencyTypes: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"],
        pathNot: "(^|/)node_modules/effect/",
      },
    },
    {
      name: "no-unresolvable",
      comment: "an import that does not resolve cannot be checked against these rules",
      severity: "error",
      from: { path: "^(src|migrations)/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a layer's types are as much a dependency as its values.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".d.ts"],
    },
  },
}
