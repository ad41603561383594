import { describe, expect, it } from "vitest"
import { createSseParser, readChatChunk } from "../../../console/src/api/Sse.js"

const parse = (chunks: ReadonlyArray<string>): Array<string> => {
  const events: Array<string> = []
  const parser = createSseParser((data) => events.push(data))
  for (const chunk of chunks) parser.push(chunk)
  parser.end()
  return events
}

const STREAM = 'data: {"a":1}\n\n: keep-alive\n\nevent: x\ndata: line one\ndata: line two\n\ndata:[DONE]\n\n'

describe("the console's SSE parser", () => {
  it("reads data events, joins multi-line data, skips comments and other fields", () => {
    expect(parse([STREAM])).toEqual(['{"a":1}', "line one\nline two", "[DONE]"])
  })

  it("gives the same events however the text is split, with \\n, \\r\\n or \\r line ends", () => {
    for (const text of [STREAM, STREAM.replace(/\n/g, "\r\n"), STREAM.replace(/\n/g, "\r")]) {
      const whole = parse([text])
      expect(whole).toEqual(['{"a":1}', "line one\nline two", "[DONE]"])
      for (let size = 1; size <= 7; size++) {
        const pieces: Array<string> = []
        for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size))
        expect(parse(pieces)).toEqual(whole)
      }
    }
  })

  it("keeps an event not closed by a blank line when the stream ends", () => {
    expect(parse(["data: last"])).toEqual(["last"])
  })
})

describe("reading a chat chunk", () => {
  it("text deltas, the end, in-band errors and everything else", () => {
    expect(readChatChunk('{"choices":[{"delta":{"content":"Hi"}}]}')).toEqual({ _tag: "Delta", text: "Hi" })
    expect(readChatChunk('{"choices":[{"delta":{"role":"assistant","content":""}}]}')).toEqual({ _tag: "Other" })
    expect(readChatChunk('{"choices":[],"usage":{"total_tokens":3}}')).toEqual({ _tag: "Other" })
    expect(readChatChunk(" [DONE]")).toEqual({ _tag: "Done" })
    expect(readChatChunk('{"error":{"message":"upstream cut","type":"server_error"}}')).toEqual({
      _tag: "Error",
      message: "upstream cut",
    })
    expect(readChatChunk("{not json")._tag).toBe("Error")
    expect(readChatChunk("null")).toEqual({ _tag: "Other" })
  })
})
