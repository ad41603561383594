import { describe, expect, it } from "vitest"
import { isoOfLocal, localInputOf, logsPathOf, searchOf, viewOf } from "../../../console/src/api/LogQuery.js"

describe("the request log's view as a query string", () => {
  it("reads the API's filters and the cursor, trims them, drops blanks and unknown parameters", () => {
    expect(viewOf("?model=%20gpt-4o-mini%20&status=5xx&provider=&cursor=abc&secret=x&limit=25&api_key_id=k1")).toEqual({
      filters: { model: "gpt-4o-mini", status: "5xx", limit: "25", api_key_id: "k1" },
      cursor: "abc",
    })
    expect(viewOf("")).toEqual({ filters: {} })
  })

  it("writes them back in a fixed order, encoded; the unfiltered first page is no query at all", () => {
    expect(searchOf({ filters: {} })).toBe("")
    expect(searchOf({ filters: { status: "429", model: "a b&c=d" }, cursor: "c/+=" })).toBe(
      "?model=a+b%26c%3Dd&status=429&cursor=c%2F%2B%3D",
    )
    expect(searchOf({ filters: { model: "  ", from: undefined } })).toBe("")
  })

  it("round-trips: what a link says is what the page shows", () => {
    const view = {
      filters: {
        from: "2025-01-01T00:00:00.000Z",
        to: "2025-02-01T00:00:00.000Z",
        user_id: "u",
        api_key_id: "k",
        model: "m",
        provider: "p",
        status: "4xx",
        error_class: "StreamCut",
        limit: "10",
      },
      cursor: "next",
    }
    expect(viewOf(searchOf(view))).toEqual(view)
  })

  it("asks GET /logs for the console's page size unless the view names one", () => {
    expect(logsPathOf({ filters: {} })).toBe("/logs?limit=50")
    expect(logsPathOf({ filters: { status: "5xx", limit: "10" }, cursor: "x" })).toBe(
      "/logs?status=5xx&limit=10&cursor=x",
    )
  })

  it("shows ISO times in the form's local time and reads the form's back as ISO", () => {
    const local = "2025-03-04T05:06"
    const iso = isoOfLocal(local)!
    expect(iso).toBe(new Date(local).toISOString())
    expect(localInputOf(iso)).toBe(local)
    expect(isoOfLocal("")).toBeUndefined()
    expect(isoOfLocal("not a time")).toBeUndefined()
    expect(localInputOf("not a time")).toBe("")
    expect(localInputOf(undefined)).toBe("")
  })
})
