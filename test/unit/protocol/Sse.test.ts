import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { sseFrame, sseJson } from "../../../src/protocol/Sse.js"

describe("sseJson", () => {
  // sseJson writes one data line without splitting: it must stay exactly the frame sseFrame writes
  // for the same JSON text, line breaks, carriage returns and line separators in strings included.
  const text = fc.string({
    unit: fc.constantFrom("a", "\n", "\r", "\r\n", "\u2028", "\u2029", '"', "\\", "é", "\u0000", " "),
  })
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      text,
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("value")),
      fc.dictionary(text, tie("value")),
    ),
  })).value

  it.prop(
    "writes the frame sseFrame writes for JSON.stringify(value)",
    [json, fc.option(fc.constantFrom("message_start", "error", "response.created"), { nil: undefined })],
    ([value, event]) => {
      expect(sseJson(value, event)).toBe(sseFrame(JSON.stringify(value), event))
    },
  )

  it("keeps a line break inside a string on the one data line, escaped", () => {
    expect(sseJson({ text: "a\nb\r\nc" })).toBe('data: {"text":"a\\nb\\r\\nc"}\n\n')
    expect(sseJson({ type: "ping" }, "ping")).toBe('event: ping\ndata: {"type":"ping"}\n\n')
  })
})
