import { validateHeaderValue } from "node:http"
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { FEATURE_HEADER_MAX, featureHeadersOf } from "../../../src/http/FeatureHeaders.js"

const CLAUDE_CODE_BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"

describe("featureHeadersOf", () => {
  it("keeps the allow-listed headers of the client's dialect, trimmed, and nothing else", () => {
    const headers = {
      "anthropic-beta": ` ${CLAUDE_CODE_BETAS} `,
      "anthropic-version": "2023-06-01",
      "openai-beta": "responses=experimental",
      "openai-organization": "org-1",
      "x-stainless-os": "Linux",
      authorization: "Bearer sk-client",
    }
    expect(featureHeadersOf(headers, "anthropic")).toEqual(
      Either.right({ "anthropic-beta": CLAUDE_CODE_BETAS, "anthropic-version": "2023-06-01" }),
    )
    expect(featureHeadersOf(headers, "openai-responses")).toEqual(
      Either.right({ "openai-beta": "responses=experimental" }),
    )
    expect(featureHeadersOf(headers, "openai-chat")).toEqual(Either.right({ "openai-beta": "responses=experimental" }))
    expect(featureHeadersOf(headers, "gemini")).toEqual(Either.right(undefined))
    expect(featureHeadersOf({}, "anthropic")).toEqual(Either.right(undefined))
    expect(featureHeadersOf({ "anthropic-beta": "  " }, "anthropic")).toEqual(Either.right(undefined))
  })

  it("accepts lists with spaces around the commas and name=value items", () => {
    expect(featureHeadersOf({ "anthropic-beta": "a-1, b-2 ,c-3" }, "anthropic")).toEqual(
      Either.right({ "anthropic-beta": "a-1, b-2 ,c-3" }),
    )
    expect(featureHeadersOf({ "openai-beta": "assistants=v2" }, "openai-chat")).toEqual(
      Either.right({ "openai-beta": "assistants=v2" }),
    )
  })

  it.each([
    ["a quote", 'beta-"x"'],
    ["a semicolon", "a;b"],
    ["an empty item", "a,,b"],
    ["a trailing comma", "a,"],
    ["CR/LF", "a\r\nx-api-key: stolen"],
    ["a control character", "a\u0001b"],
    ["non-ASCII", "bêta"],
    ["a double equals", "a=b=c"],
    ["too long", "a".repeat(FEATURE_HEADER_MAX + 1)],
  ])("refuses a value with %s with a 400 naming the header", (_, value) => {
    const result = featureHeadersOf({ "anthropic-beta": value }, "anthropic")
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left).toMatchObject({ _tag: "InvalidRequest", param: "anthropic-beta", code: "invalid_header" })
      expect(result.left.message).toContain("anthropic-beta")
      // The message never echoes the hostile value.
      expect(result.left.message).not.toContain(value)
    }
  })

  it("only ever forwards a value that is a valid, single-line, bounded header value", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.fullUnicodeString({ maxLength: 80 }),
          fc.string({ minLength: 1000, maxLength: 1100 }),
        ),
        (value) => {
          const result = featureHeadersOf({ "anthropic-beta": value }, "anthropic")
          if (Either.isLeft(result) || result.right === undefined) return
          const forwarded = result.right["anthropic-beta"]!
          expect(() => validateHeaderValue("anthropic-beta", forwarded)).not.toThrow()
          expect(forwarded).toMatch(/^[\x20-\x7e]+$/)
          expect(forwarded.length).toBeLessThanOrEqual(FEATURE_HEADER_MAX)
        },
      ),
      { numRuns: 2_000 },
    )
  })
})
