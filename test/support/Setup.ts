import { it as effectIt } from "@effect/vitest"
import { afterAll } from "vitest"
import { closeFileResources } from "./FileTeardown.js"

// Runs before every test file (vitest `setupFiles`): what the file opened closes with it. Only a
// registry is imported here, so a file that never opens a database loads no database code.
afterAll(closeFileResources)

// @effect/vitest's `layer(…)` assigns its layer-bound `effect`, `scoped` and `layer` onto the one
// shared `it` (fixed upstream only for Effect 4: Effect-TS/effect-smol#2177). Worker processes
// serve many files (vitest.config.ts), and @effect/vitest stays loaded in them: a file after one
// with `layer(Live, { excludeTestServices: true })` ran its `it.layer` tests inside that layer,
// without TestClock. Each file starts with the methods the worker first loaded.
const pristineKey = Symbol.for("apiproxy/test/pristine-effect-vitest-it")
const holder = globalThis as { [pristineKey]?: Record<string, unknown> }
holder[pristineKey] ??= { ...effectIt }
Object.assign(effectIt, holder[pristineKey])
