import { setFlagsFromString } from "node:v8"

/**
 * V8 heap settings for a process that allocates a little per request and keeps little of it
 * (bench/RESULTS.md). Imported first by `main.ts`, before anything allocates much. A flag the
 * operator sets themselves (node flags or NODE_OPTIONS) keeps their value.
 *
 * - `--heap-growing-percent=30`: V8 lets the old generation grow to several times the live heap
 *   between full collections; by default the gateway sat 100+ MB above its live data. Here the
 *   heap may grow to 1.3 × what the last full collection kept (the marking runs concurrently;
 *   measured at no clear CPU cost).
 * - `--no-allocation-site-pretenuring`: V8 starts allocating objects of an allocation site
 *   straight in the old generation once most of them survived a young collection. Objects of a
 *   request in flight during a young collection look like that; once tenured, each dead one keeps
 *   the young objects it points to alive through every young collection until the next full
 *   one. Measured: bytes promoted per request about halved, no CPU cost under load.
 */
const FLAGS: ReadonlyArray<{ readonly name: string; readonly flag: string }> = [
  { name: "heap-growing-percent", flag: "--heap-growing-percent=30" },
  { name: "allocation-site-pretenuring", flag: "--no-allocation-site-pretenuring" },
]

const operatorFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ")
for (const { name, flag } of FLAGS) if (!operatorFlags.includes(name)) setFlagsFromString(flag)
