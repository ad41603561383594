import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Dialect } from "../../../src/protocol/Canonical.js"
import { NO_LOSS } from "../../../src/protocol/ConversionLoss.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { lossFor } from "../../../src/protocol/TargetLoss.js"

const decoded = (dialect: Dialect, body: Record<string, unknown>) =>
  Either.getOrThrow(codecs[dialect].decodeRequest(body, { model: "m", stream: false }))

const chat = {
  model: "m",
  messages: [{ role: "user", content: "q" }],
  tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
  parallel_tool_calls: false,
  seed: 7,
  frequency_penalty: 0.5,
  presence_penalty: 0.1,
  user: "u-1",
  metadata: { team: "a" },
}

describe("lossFor (what a target's encoder cannot carry)", () => {
  it("names, in the client's own words, the settings each target has no field for", () => {
    const request = decoded("openai-chat", chat)
    expect(lossFor(NO_LOSS, "openai-chat", "anthropic", request).dropped).toEqual([
      "frequency_penalty",
      "presence_penalty",
      "seed",
      "metadata",
    ])
    expect(lossFor(NO_LOSS, "openai-chat", "gemini", request).dropped).toEqual([
      "user",
      "metadata",
      "parallel_tool_calls",
    ])
    const claude = decoded("anthropic", {
      model: "m",
      max_tokens: 5,
      top_k: 5,
      thinking: { type: "enabled", budget_tokens: 2048 },
      metadata: { user_id: "u" },
      messages: [],
    })
    expect(lossFor(NO_LOSS, "anthropic", "openai-chat", claude).dropped).toEqual(["top_k", "thinking"])
    expect(lossFor(NO_LOSS, "anthropic", "gemini", claude).dropped).toEqual(["metadata.user_id"])
  })

  it("refuses a JSON response format for Anthropic, which cannot hold its answer to it", () => {
    for (const [dialect, body, name] of [
      ["openai-chat", { model: "m", messages: [], response_format: { type: "json_object" } }, "response_format"],
      [
        "openai-responses",
        { model: "m", input: "q", text: { format: { type: "json_schema", name: "x", schema: {} } } },
        "text.format",
      ],
      [
        "gemini",
        { contents: [], generationConfig: { responseMimeType: "application/json" } },
        "generationConfig.responseMimeType",
      ],
    ] as const) {
      expect(lossFor(NO_LOSS, dialect, "anthropic", decoded(dialect, body)).refused).toEqual([`field '${name}'`])
      expect(
        lossFor(NO_LOSS, dialect, dialect === "gemini" ? "openai-chat" : "gemini", decoded(dialect, body)).refused,
      ).toEqual([])
    }
  })

  it("keeps the source's own loss, and adds nothing within a dialect or when nothing is lost", () => {
    const loss = { refused: ["tool type 'x'"], dropped: ["include"] }
    expect(lossFor(loss, "openai-chat", "anthropic", decoded("openai-chat", chat))).toEqual({
      refused: ["tool type 'x'"],
      dropped: ["include", "frequency_penalty", "presence_penalty", "seed", "metadata"],
    })
    expect(lossFor(loss, "openai-chat", "openai-chat", decoded("openai-chat", chat))).toBe(loss)
    expect(lossFor(NO_LOSS, "openai-chat", "anthropic", decoded("openai-chat", { model: "m", messages: [] }))).toBe(
      NO_LOSS,
    )
  })
})
