import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { formatTraceParent, parseTraceContext, parseTraceState } from "../../../src/telemetry/TraceContext.js"

/**
 * W3C Trace Context as the edge reads it: every well-formed `traceparent` is read back exactly
 * (the gateway's own, formatted, too), anything else — however close — is refused whole.
 */

const hexOf = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`))
const traceId = hexOf(32).filter((id) => !/^0+$/.test(id))
const spanId = hexOf(16).filter((id) => !/^0+$/.test(id))
const flags = fc.integer({ min: 0, max: 255 })

describe("TraceContext", () => {
  it.prop(
    "a formatted traceparent parses back to the same ids and flags",
    [traceId, spanId, flags],
    ([trace, span, traceFlags]) => {
      expect(parseTraceContext(formatTraceParent(trace, span, traceFlags), undefined)).toEqual({
        traceId: trace,
        spanId: span,
        traceFlags,
        traceState: undefined,
      })
    },
  )

  it.prop(
    "one character changed to something the format forbids there is refused",
    [traceId, spanId, flags, fc.integer({ min: 0, max: 54 }), fc.constantFrom("G", "A", "-", " ", "\n", "0", "é")],
    ([trace, span, traceFlags, at, replacement]) => {
      const header = formatTraceParent(trace, span, traceFlags)
      const changed = header.slice(0, at) + replacement + header.slice(at + 1)
      const dashes = at === 2 || at === 35 || at === 52
      // A hex digit replaced by another hex digit is still well-formed (unless it zeroes an id); so is a dash kept a dash.
      fc.pre(!(replacement === "0" && !dashes) && !(replacement === "-" && dashes))
      expect(parseTraceContext(changed, undefined)).toBeUndefined()
    },
  )

  it.prop("arbitrary text is never taken for a trace, unless it is one", [fc.string({ maxLength: 80 })], ([text]) => {
    const parsed = parseTraceContext(text, undefined)
    if (parsed !== undefined) expect(formatTraceParent(parsed.traceId, parsed.spanId, parsed.traceFlags)).toBe(text)
  })

  it("refuses the forms the spec rules out, and reads a future version's known fields", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    const span = "00f067aa0ba902b7"
    expect(parseTraceContext(`00-${trace}-${span}-01`, undefined)?.traceFlags).toBe(1)
    expect(parseTraceContext(`00-${"0".repeat(32)}-${span}-01`, undefined)).toBeUndefined()
    expect(parseTraceContext(`00-${trace}-${"0".repeat(16)}-01`, undefined)).toBeUndefined()
    expect(parseTraceContext(`ff-${trace}-${span}-01`, undefined)).toBeUndefined()
    expect(parseTraceContext(`00-${trace}-${span}-01-extra`, undefined)).toBeUndefined()
    expect(parseTraceContext(`00-${trace}-${span}-01, 00-${trace}-${span}-01`, undefined)).toBeUndefined()
    expect(parseTraceContext([`00-${trace}-${span}-01`], undefined)).toBeUndefined()
    expect(parseTraceContext(undefined, undefined)).toBeUndefined()
    expect(parseTraceContext(`cc-${trace}-${span}-01-what-comes-next`, undefined)).toMatchObject({
      traceId: trace,
      spanId: span,
    })
    expect(parseTraceContext(`cc-${trace}-${span}-01${"x".repeat(300)}`, undefined)).toBeUndefined()
  })

  it("keeps a well-formed tracestate (repeated headers joined), drops a malformed one whole, and keeps the parent either way", () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    expect(parseTraceContext(parent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?.traceState).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    )
    expect(parseTraceState("rojo=1 ,  congo=2, ,tenant@vendor=x y")).toBe("rojo=1,congo=2,tenant@vendor=x y")
    for (const bad of [
      "Rojo=1",
      "rojo=1,rojo=2",
      "rojo",
      "rojo=a,b",
      "rojo=",
      "rojo=x=y",
      "rojo=\u0007",
      `${"k".repeat(257)}=1`,
      "a@b@c=1",
    ]) {
      expect(parseTraceState(bad)).toBeUndefined()
      expect(parseTraceContext(parent, bad)).toMatchObject({
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        traceState: undefined,
      })
    }
    expect(parseTraceState(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined()
    expect(parseTraceState(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(","))).toBeDefined()
    expect(parseTraceState(`a=${"v".repeat(250)},b=${"v".repeat(250)},c=${"v".repeat(20)}`)).toBeUndefined()
    expect(parseTraceState("x".repeat(100_000))).toBeUndefined()
  })
})
