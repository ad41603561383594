import { describe, expect, it } from "@effect/vitest"
import { emptyAnswerFacts, readAnswerText } from "../../../src/protocol/AnswerFacts.js"

const read = (texts: ReadonlyArray<string>, tokens = false) => {
  const facts = emptyAnswerFacts()
  for (const text of texts) readAnswerText(facts, text, tokens)
  return facts
}

describe("AnswerFacts: model, finish reasons and tokens from answer text in every dialect", () => {
  it("reads an OpenAI chat answer, an Anthropic message, a Gemini answer and an incomplete Responses answer", () => {
    expect(
      read(
        [
          '{"id":"c1","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}',
        ],
        true,
      ),
    ).toEqual({ model: "gpt-4o-mini-2024-07-18", finishReasons: ["stop"], inputTokens: 12, outputTokens: 3 })
    expect(
      read(
        [
          '{"type":"message","model":"claude-sonnet-4-5","stop_reason":"max_tokens","usage":{"input_tokens":9,"output_tokens":100}}',
        ],
        true,
      ),
    ).toEqual({
      model: "claude-sonnet-4-5",
      finishReasons: ["max_tokens"],
      inputTokens: 9,
      outputTokens: 100,
    })
    expect(
      read(
        [
          '{"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2},"modelVersion":"gemini-2.5-flash"}',
        ],
        true,
      ),
    ).toEqual({
      model: "gemini-2.5-flash",
      finishReasons: ["STOP"],
      inputTokens: 4,
      outputTokens: 2,
    })
    expect(
      read(['{"id":"r1","model":"gpt-5","status":"incomplete","incomplete_details": {"reason": "max_output_tokens"}}'])
        .finishReasons,
    ).toEqual(["max_output_tokens"])
  })

  it("reads SSE frames as they pass: the first model, each distinct reason once, no tokens unless asked", () => {
    const facts = read([
      'data: {"model":"m-1","choices":[{"delta":{"content":"a"},"finish_reason":null}]}\n\n',
      'data: {"model":"m-2","choices":[{"index":0,"delta":{},"finish_reason":"length"},{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n',
      'data: {"model":"m-1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\ndata: [DONE]\n\n',
    ])
    expect(facts).toEqual({
      model: "m-1",
      finishReasons: ["length", "stop"],
      inputTokens: undefined,
      outputTokens: undefined,
    })
  })

  it("never reads the generated text: key-like words inside a string are escaped and do not match", () => {
    const content = JSON.stringify({ model: "fake", finish_reason: "fake", prompt_tokens: 999 })
    const body = JSON.stringify({
      choices: [{ message: { content }, finish_reason: "stop" }],
      model: "real",
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    })
    expect(read([body], true)).toEqual({ model: "real", finishReasons: ["stop"], inputTokens: 1, outputTokens: 1 })
  })

  it("keeps what a hostile answer says bounded: a few reasons, short plain values", () => {
    const many = Array.from({ length: 1000 }, (_, i) => `{"finish_reason":"r${i}"}`).join(",")
    expect(read([`[${many}]`]).finishReasons).toHaveLength(8)
    expect(read([`{"finish_reason":"${"x".repeat(65)}","model":"${"m".repeat(257)}"}`])).toEqual({
      model: undefined,
      finishReasons: [],
      inputTokens: undefined,
      outputTokens: undefined,
    })
    expect(read(['{"finish_reason":"stop\\r\\nX: y"}']).finishReasons).toEqual([])
  })
})
