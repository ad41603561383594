import { describe, expect, it } from "vitest"
import { bucketKey, bucketLabel, timeLabel, usagePath, windowOf } from "../../../console/src/usage/UsageWindow.js"

const now = new Date("2025-03-10T13:45:12.345Z")

describe("usage page windows", () => {
  it("24 h: 24 UTC hours ending with the current one, keyed as GET /usage?group_by=hour names them", () => {
    const window = windowOf("24h", now)
    expect(window.groupBy).toBe("hour")
    expect(window.from.toISOString()).toBe("2025-03-09T14:00:00.000Z")
    expect(window.to.toISOString()).toBe("2025-03-10T14:00:00.000Z")
    expect(window.buckets).toHaveLength(24)
    expect(window.buckets[0]).toBe("2025-03-09T14:00:00.000Z")
    expect(window.buckets[23]).toBe("2025-03-10T13:00:00.000Z")
    expect(window.starts[23]).toBe(Date.parse("2025-03-10T13:00:00.000Z") / 1000)
    expect(usagePath(window)).toBe(
      "/usage?from=2025-03-09T14%3A00%3A00.000Z&to=2025-03-10T14%3A00%3A00.000Z&group_by=hour",
    )
  })

  it("7 d and 30 d: whole UTC days ending with today, across a month's end", () => {
    const week = windowOf("7d", now)
    expect(week.groupBy).toBe("day")
    expect(week.buckets).toEqual([
      "2025-03-04",
      "2025-03-05",
      "2025-03-06",
      "2025-03-07",
      "2025-03-08",
      "2025-03-09",
      "2025-03-10",
    ])
    expect(week.to.toISOString()).toBe("2025-03-11T00:00:00.000Z")
    const month = windowOf("30d", now)
    expect(month.buckets).toHaveLength(30)
    expect(month.buckets[0]).toBe("2025-02-09")
    expect(month.from.toISOString()).toBe("2025-02-09T00:00:00.000Z")
    expect(usagePath(month)).toContain("group_by=day")
  })

  it("a bucket on its boundary starts there; labels are UTC", () => {
    expect(windowOf("24h", new Date("2025-03-10T00:00:00.000Z")).buckets[23]).toBe("2025-03-10T00:00:00.000Z")
    expect(bucketKey("day", Date.parse("2025-03-10T23:59:59.999Z"))).toBe("2025-03-10")
    expect(bucketLabel("hour", "2025-03-10T13:00:00.000Z")).toBe("2025-03-10 13:00")
    expect(bucketLabel("day", "2025-03-10")).toBe("2025-03-10")
    const seconds = Date.parse("2025-03-10T13:00:00.000Z") / 1000
    expect(timeLabel("hour", seconds)).toBe("13:00")
    expect(timeLabel("day", seconds)).toBe("03-10")
  })
})
