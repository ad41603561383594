import { describe, expect, it } from "vitest"
import { isoOfLocalInput, localInputOfIso, type OffsetAt } from "../../../console/src/api/LocalTime.js"

/** Paris: UTC+1 in winter, UTC+2 from 2030-03-31 01:00 UTC (getTimezoneOffset: −60, then −120). */
const paris: OffsetAt = (epochMs) => (epochMs >= Date.UTC(2030, 2, 31, 1) ? -120 : -60)
const utc: OffsetAt = () => 0
/** New York in winter: UTC−5 (getTimezoneOffset: +300). */
const newYork: OffsetAt = () => 300

describe("datetime-local values ↔ UTC ISO times", () => {
  it("reads a local wall time in the browser's zone and sends it in UTC", () => {
    expect(isoOfLocalInput("2030-01-31T17:00", utc)).toBe("2030-01-31T17:00:00.000Z")
    expect(isoOfLocalInput("2030-01-31T17:00", paris)).toBe("2030-01-31T16:00:00.000Z")
    expect(isoOfLocalInput("2030-06-30T17:00", paris)).toBe("2030-06-30T15:00:00.000Z")
    expect(isoOfLocalInput("2030-01-31T22:30", newYork)).toBe("2030-02-01T03:30:00.000Z")
    expect(isoOfLocalInput("2030-01-31T17:00:30", utc)).toBe("2030-01-31T17:00:30.000Z")
  })

  it("uses the offset of the day itself, either side of a clock change", () => {
    expect(isoOfLocalInput("2030-03-31T01:30", paris)).toBe("2030-03-31T00:30:00.000Z")
    expect(isoOfLocalInput("2030-03-31T03:30", paris)).toBe("2030-03-31T01:30:00.000Z")
    // 02:30 does not exist that night: read with the winter offset, as browsers do (03:30 summer time).
    expect(isoOfLocalInput("2030-03-31T02:30", paris)).toBe("2030-03-31T01:30:00.000Z")
  })

  it("refuses what is not a date and a time", () => {
    for (const value of ["", "2030-01-31", "31/01/2030 17:00", "2030-02-31T10:00", "2030-01-31T24:00", "soon"]) {
      expect(isoOfLocalInput(value, utc), value).toBeUndefined()
    }
  })

  it("shows a UTC time as the field's local value, to the minute, and back", () => {
    expect(localInputOfIso("2030-01-31T16:00:00.000Z", paris)).toBe("2030-01-31T17:00")
    expect(localInputOfIso("2030-06-30T15:00:59.000Z", paris)).toBe("2030-06-30T17:00")
    expect(localInputOfIso("2030-02-01T03:30:00Z", newYork)).toBe("2030-01-31T22:30")
    const iso = "2030-08-15T09:45:00.000Z"
    expect(isoOfLocalInput(localInputOfIso(iso, paris), paris)).toBe(iso)
  })
})
