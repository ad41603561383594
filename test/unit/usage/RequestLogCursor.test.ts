import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { CURSOR_MAX_LENGTH, decodeCursor, encodeCursor } from "../../../src/usage/RequestLogCursor.js"

/** The `GET /logs` cursor: opaque, round-trips exactly, and refuses anything it did not make. */
describe("RequestLogCursor", () => {
  const position = { startedAt: "2025-03-01T12:34:56.789012Z", id: "0b6f3c1e-5d2a-4c7b-9e8f-1a2b3c4d5e6f" }

  it("a position round-trips, to the microsecond, in a URL-safe token shorter than the limit", () => {
    const token = encodeCursor(position)
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(token.length).toBeLessThanOrEqual(CURSOR_MAX_LENGTH)
    expect(decodeCursor(token)).toEqual(position)
  })

  it("every real time and uuid round-trips", () => {
    const time = FastCheck.date({
      min: new Date("0001-01-01T00:00:00Z"),
      max: new Date("9999-12-31T23:59:59Z"),
      noInvalidDate: true,
    })
    FastCheck.assert(
      FastCheck.property(time, FastCheck.integer({ min: 0, max: 999 }), FastCheck.uuid(), (date, micros, id) => {
        const startedAt = `${date.toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}Z`
        expect(decodeCursor(encodeCursor({ startedAt, id }))).toEqual({ startedAt, id })
      }),
    )
  })

  const token = (text: string) => Buffer.from(text, "latin1").toString("base64url")

  it.each([
    ["empty", ""],
    ["not base64url", "abc+/="],
    ["too long", "A".repeat(CURSOR_MAX_LENGTH + 1)],
    ["random bytes", "Zm9vYmFy"],
    ["another version", token(`2|${position.startedAt}|${position.id}`)],
    ["a missing part", token(`1|${position.startedAt}`)],
    ["an extra part", token(`1|${position.startedAt}|${position.id}|x`)],
    ["milliseconds only", token(`1|2025-03-01T12:34:56.789Z|${position.id}`)],
    ["a day that does not exist", token(`1|2025-02-30T12:34:56.789012Z|${position.id}`)],
    ["hour 24", token(`1|2025-03-01T24:00:00.000000Z|${position.id}`)],
    ["year 0", token(`1|0000-03-01T12:00:00.000000Z|${position.id}`)],
    ["an offset, not UTC", token(`1|2025-03-01T12:34:56.789012+01:00|${position.id}`)],
    ["SQL in the time", token(`1|2025-03-01T12:34:56.789012Z'; DROP TABLE request_log; --|${position.id}`)],
    ["not a uuid", token(`1|${position.startedAt}|0b6f3c1e`)],
    ["an upper-case uuid", token(`1|${position.startedAt}|${position.id.toUpperCase()}`)],
  ])("refuses %s", (_, text) => {
    expect(decodeCursor(text)).toBeUndefined()
  })
})
