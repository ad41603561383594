import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { countOf, decodeCountRequest, encodeCountRequest, promptText } from "../../../src/protocol/TokenCount.js"

const client = (dialect: "anthropic" | "gemini", body: Record<string, unknown>, model = "m") => ({
  dialect,
  body,
  canonical: () => decodeCountRequest(dialect, body, model),
})

const right = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}

describe("token counting between dialects", () => {
  it("a Gemini generateContentRequest keeps its body and names the upstream model as a resource; the path is one segment", () => {
    const body = {
      generateContentRequest: { model: "models/alias", contents: [{ role: "user", parts: [{ text: "hi" }] }] },
    }
    const sent = right(encodeCountRequest(client("gemini", body), "gemini", "gemini/2.5?x"))
    expect(sent.path).toBe("models/gemini%2F2.5%3Fx:countTokens")
    expect(sent.body).toEqual({
      generateContentRequest: { ...body.generateContentRequest, model: "models/gemini/2.5?x" },
    })
  })

  it("to Anthropic only the fields count_tokens takes are sent (no max_tokens, no sampling)", () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { temperature: 0.2, maxOutputTokens: 5 },
    }
    const sent = right(encodeCountRequest(client("gemini", body), "anthropic", "claude-x"))
    expect(Object.keys(sent.body).sort()).toEqual(["messages", "model"])
  })

  it("reads a count, taking a Gemini answer without totalTokens as 0 (zero values are left out) and refusing anything else", () => {
    expect(countOf("gemini", {})).toBe(0)
    expect(countOf("gemini", { totalTokens: 12 })).toBe(12)
    expect(countOf("gemini", { totalTokens: "12" })).toBeUndefined()
    expect(countOf("gemini", { error: { code: 500 } })).toBeUndefined()
    expect(countOf("anthropic", {})).toBeUndefined()
    expect(countOf("anthropic", { input_tokens: -1 })).toBeUndefined()
    expect(countOf("anthropic", { input_tokens: 3.5 })).toBeUndefined()
    expect(countOf("anthropic", [1])).toBeUndefined()
  })

  it("the estimate reads system, messages, tool calls and results, and tool definitions; images are counted", () => {
    const request = right(
      decodeCountRequest(
        "anthropic",
        {
          model: "m",
          system: "SYS",
          tools: [{ name: "t", description: "D", input_schema: { type: "object" } }],
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "U" },
                { type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } },
              ],
            },
            { role: "assistant", content: [{ type: "tool_use", id: "c1", name: "t", input: { a: 1 } }] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: "c1", content: "R" }] },
          ],
        },
        "m",
      ),
    )
    expect(promptText(request)).toEqual({
      texts: ["SYS", "U", "t", '{"a":1}', "R", "t", "D", '{"type":"object"}'],
      messages: 3,
      images: 1,
    })
  })
})
