import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { vectorFromBase64, vectorToBase64 } from "../../../src/protocol/embeddings/Embedding.js"
import * as GeminiEmbeddings from "../../../src/protocol/embeddings/GeminiEmbeddings.js"
import * as OpenAiEmbeddings from "../../../src/protocol/embeddings/OpenAiEmbeddings.js"
import { embeds, mayEmbed } from "../../../src/routing/Capabilities.js"

const float32 = fc.float({ noNaN: true, noDefaultInfinity: true })

describe("embeddings codecs", () => {
  it.prop(
    "base64 is little-endian float32, as OpenAI (and Node's Float32Array) give it",
    [fc.array(float32, { maxLength: 64 })],
    ([vector]) => {
      const text = vectorToBase64(vector)
      expect(text).toBe(Buffer.from(new Float32Array(vector).buffer).toString("base64"))
      expect(vectorFromBase64(text)).toEqual(vector.map((v) => (Object.is(v, -0) ? -0 : v)))
    },
  )

  it("base64 that is not whole float32s is refused", () => {
    expect(vectorFromBase64("AAA=")).toBeUndefined()
    expect(vectorFromBase64("%%%")).toBeUndefined()
  })

  it("an OpenAI answer is put in input order by index; a missing, repeated or stray index is refused", () => {
    const item = (index: number, v: number) => ({ object: "embedding", index, embedding: [v] })
    expect(OpenAiEmbeddings.decodeResponse({ data: [item(1, 2), item(0, 1)] }, 2)).toEqual(
      Either.right({ vectors: [[1], [2]], promptTokens: undefined }),
    )
    expect(Either.isLeft(OpenAiEmbeddings.decodeResponse({ data: [item(0, 1), item(0, 2)] }, 2))).toBe(true)
    expect(Either.isLeft(OpenAiEmbeddings.decodeResponse({ data: [item(0, 1), item(2, 2)] }, 2))).toBe(true)
    expect(Either.isLeft(OpenAiEmbeddings.decodeResponse({ data: [item(0, 1)] }, 2))).toBe(true)
  })

  it("a Gemini body: text parts joined, outputDimensionality read, what OpenAI has no word for named", () => {
    const one = GeminiEmbeddings.decodeRequest(
      { content: { parts: [{ text: "a" }, { text: "b" }] }, outputDimensionality: 4, title: "t" },
      "embedContent",
    )
    expect(one).toEqual(
      Either.right({ inputs: ["a\nb"], single: true, dimensions: 4, encoding: "float", untranslatable: ["title"] }),
    )
    const batch = GeminiEmbeddings.decodeRequest(
      {
        requests: [
          { content: { parts: [{ inlineData: { data: "" } }] }, outputDimensionality: 2 },
          { content: { parts: [{ text: "x" }] } },
        ],
      },
      "batchEmbedContents",
    )
    expect(Either.getOrThrow(batch).untranslatable).toEqual([
      "content.parts[].inlineData",
      "outputDimensionality (differing between requests)",
    ])
    expect(Either.isLeft(GeminiEmbeddings.decodeRequest({ content: { parts: [] } }, "embedContent"))).toBe(true)
  })
})

describe("which models embed (routing/Capabilities)", () => {
  it("Anthropic never; a Gemini listing decides where it says; else the id", () => {
    expect(embeds({ protocol: "anthropic" }, "text-embedding-3-small", undefined)).toBe(false)
    expect(embeds({ protocol: "gemini" }, "gemini-2.5-flash", true)).toBe(true)
    expect(embeds({ protocol: "gemini" }, "text-embedding-004", false)).toBe(false)
    expect(embeds({ protocol: "openai" }, "nomic-embed-text", undefined)).toBe(true)
    expect(embeds({ protocol: "openai" }, "bge-m3", undefined)).toBe(false)
    // Routing only excludes what is known: an unlisted id is still asked.
    expect(mayEmbed({ protocol: "openai" }, undefined)).toBe(true)
    expect(mayEmbed({ protocol: "gemini" }, false)).toBe(false)
  })
})
