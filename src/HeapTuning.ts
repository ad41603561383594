import { setFlagsFromString } from "node:v8"

/**
 * Keeps the gateway's memory footprint steady under load (bench/RESULTS.md). V8 lets the old
 * generation grow to several times the live heap between full collections; a busy gateway
 * allocates per request, so by default it sat 100+ MB above its live data. Here the heap may grow
 * to 1.3 × what the last full collection kept (the marking runs concurrently; measured at no
 * clear CPU cost). An operator who sets `--heap-growing-percent` themselves (node flags or
 * NODE_OPTIONS) keeps their value. Imported first by `main.ts`, before anything allocates much.
 */
const HEAP_GROWING_PERCENT = 30

const chosenByOperator = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((arg) => arg.includes("heap-growing-percent"))
if (!chosenByOperator) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
