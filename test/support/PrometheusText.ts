/**
 * A reader of the Prometheus text exposition format (version 0.0.4) for tests: checks every line
 * (`# HELP`, `# TYPE` before a family's samples, sample lines with escaped label values) and
 * returns the samples, so a test can ask for one series' value.
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  readonly samples: ReadonlyArray<Sample>
  /** Family name → its TYPE. */
  readonly types: ReadonlyMap<string, string>
  /** The value of the one series of `name` with exactly `labels`; undefined when there is none. */
  readonly value: (name: string, labels?: Readonly<Record<string, string>>) => number | undefined
  /** The sum over the series of `name` whose labels include `labels`. */
  readonly sum: (name: string, labels?: Readonly<Record<string, string>>) => number
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const unescapeLabel = (value: string) => value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c))

const parseLabels = (text: string, line: string): Record<string, string> => {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex
    const match = LABEL.exec(text)
    if (match === null || match.index !== start) throw new Error(`malformed labels in: ${line}`)
    if (match[1]! in labels) throw new Error(`duplicate label ${match[1]} in: ${line}`)
    labels[match[1]!] = unescapeLabel(match[2]!)
    if (match[3] === "") break
  }
  return labels
}

const familyOf = (name: string, types: ReadonlyMap<string, string>): string | undefined => {
  if (types.has(name)) return name
  for (const suffix of ["_bucket", "_sum", "_count", "_total", "_created"]) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length)
  }
  return undefined
}

/** A float as Prometheus reads one (Go's ParseFloat: `NaN`, `Inf` in any case; prom-client writes `Nan`). */
const parseValue = (text: string, line: string): number => {
  const word = text.toLowerCase()
  if (word === "+inf" || word === "inf") return Number.POSITIVE_INFINITY
  if (word === "-inf") return Number.NEGATIVE_INFINITY
  if (word === "nan") return Number.NaN
  const value = Number(text)
  if (!Number.isFinite(value)) throw new Error(`malformed value in: ${line}`)
  return value
}

/** Parses `text`; throws naming the first line that is not valid exposition format. */
export const parseExposition = (text: string): Exposition => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  const helped = new Set<string>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    if (line.startsWith("#")) {
      const [, keyword, name, rest] = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line) ?? []
      if (keyword === undefined || !METRIC_NAME.test(name!)) throw new Error(`malformed comment line: ${line}`)
      if (keyword === "HELP") helped.add(name!)
      else {
        if (!TYPES.has(rest!)) throw new Error(`unknown metric type in: ${line}`)
        if (types.has(name!)) throw new Error(`second TYPE for ${name}`)
        types.set(name!, rest!)
      }
      continue
    }
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`malformed sample line: ${line}`)
    const [, name, labelText, valueText] = match
    const family = familyOf(name!, types)
    if (family === undefined) throw new Error(`sample before its TYPE line: ${line}`)
    if (!helped.has(family)) throw new Error(`sample without a HELP line: ${line}`)
    samples.push({
      name: name!,
      labels: labelText === undefined ? {} : parseLabels(labelText, line),
      value: parseValue(valueText!, line),
    })
  }
  const includes = (sample: Sample, labels: Readonly<Record<string, string>>) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
  return {
    samples,
    types,
    value: (name, labels = {}) => {
      const found = samples.filter(
        (s) => s.name === name && includes(s, labels) && Object.keys(s.labels).length === Object.keys(labels).length,
      )
      if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`)
      return found[0]?.value
    },
    sum: (name, labels = {}) =>
      samples.filter((s) => s.name === name && includes(s, labels)).reduce((total, s) => total + s.value, 0),
  }
}
