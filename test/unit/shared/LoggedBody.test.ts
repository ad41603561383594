import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { BODY_MAX_BYTES, loggedBody, makeBodyCapture } from "../../../src/shared/LoggedBody.js"
import { redactBody } from "../../../src/shared/Redaction.js"

/** Bodies as the request log keeps them for keys with log_bodies: redacted, capped at 32 KiB, storable. */
describe("loggedBody", () => {
  it("a small body is kept as it is, not truncated", () => {
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 50 })
    expect(loggedBody(body)).toEqual({ text: body, truncated: false })
  })

  it("credentials are redacted: provider and gateway keys in text, bearer tokens, and string members named like credentials", () => {
    const body = JSON.stringify({
      model: "m",
      messages: [
        {
          role: "user",
          content:
            "my key is sk-proj-abcdefghijklmnopqrstuvwx and apx-0123456789abcdefghij, header Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
        },
      ],
      api_key: "plain-looking-secret",
      client_secret: "hunter2hunter2",
      nested: { "X-Api-Key": "k-123", access_token: "t-456", password: 'p"w\\d' },
      max_tokens: 100,
      prompt_tokens_hint: "not a secret",
    })
    const { text } = loggedBody(body)
    for (const secret of [
      "sk-proj-abcdefghijklmnopqrstuvwx",
      "apx-0123456789abcdefghij",
      "eyJhbGciOiJIUzI1NiJ9",
      "plain-looking-secret",
      "hunter2hunter2",
      "k-123",
      "t-456",
      'p\\"w',
    ])
      expect(text).not.toContain(secret)
    const kept = JSON.parse(text) as Record<string, any>
    expect(kept).toMatchObject({
      model: "m",
      api_key: "[redacted]",
      client_secret: "[redacted]",
      max_tokens: 100,
      prompt_tokens_hint: "not a secret",
    })
    expect(kept.nested).toEqual({ "X-Api-Key": "[redacted]", access_token: "[redacted]", password: "[redacted]" })
  })

  it("a long body is cut at 32 KiB of UTF-8, never inside a character, and marked truncated", () => {
    const ascii = loggedBody("a".repeat(100_000))
    expect(ascii).toEqual({ text: "a".repeat(BODY_MAX_BYTES), truncated: true })
    // 3-byte characters: 32 768 is not a multiple of 3, so the last whole character ends before it.
    const wide = loggedBody("€".repeat(20_000))
    expect(Buffer.byteLength(wide.text)).toBe(BODY_MAX_BYTES - (BODY_MAX_BYTES % 3))
    expect(wide.text).toBe("€".repeat(Math.floor(BODY_MAX_BYTES / 3)))
    expect(wide.truncated).toBe(true)
    // Exactly at the cap: kept whole.
    expect(loggedBody("b".repeat(BODY_MAX_BYTES))).toEqual({ text: "b".repeat(BODY_MAX_BYTES), truncated: false })
  })

  it("a credential the cut would split is redacted before the cut: no piece of it is kept", () => {
    for (const offset of [-40, -10, -3, 0, 3, 10]) {
      const secret = "sk-ant-api03-" + "Z".repeat(60)
      const body = "x".repeat(BODY_MAX_BYTES + offset) + " " + secret + " " + "y".repeat(1000)
      const { text, truncated } = loggedBody(body)
      expect(truncated).toBe(true)
      expect(text).not.toMatch(/ZZZZ|sk-ant/)
      const member = "m".repeat(BODY_MAX_BYTES + offset) + `{"api_key": "${"Q".repeat(50)}"}`
      expect(loggedBody(member).text).not.toMatch(/QQQQ/)
    }
  })

  it("NUL and lone surrogates (no Postgres column takes them) become U+FFFD; pairs stay", () => {
    expect(loggedBody("a\u0000b\uD83Dc\uDE00d😀").text).toBe("a\uFFFDb\uFFFDc\uFFFDd😀")
  })

  it("any text: at most 32 KiB of valid UTF-8, truncated exactly when something was left out", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary", maxLength: 40_000 }), (text) => {
        const { text: kept, truncated } = loggedBody(text)
        expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(BODY_MAX_BYTES)
        expect(kept).not.toMatch(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
        expect(truncated).toBe(Buffer.byteLength(text) > BODY_MAX_BYTES)
      }),
      { numRuns: 200 },
    )
  })

  it("hostile bodies cost linear time: megabytes of quotes, names and unterminated strings", () => {
    for (const hostile of [
      '"' + "a".repeat(2_000_000),
      '"a":"'.repeat(400_000),
      '{"api_key"' + " ".repeat(1_000_000),
      ('"password":"' + "\\".repeat(10)).repeat(100_000),
    ]) {
      const started = performance.now()
      redactBody(hostile)
      loggedBody(hostile)
      expect(performance.now() - started).toBeLessThan(1_000)
    }
  })
})

describe("body capture (a stream's pieces)", () => {
  it("keeps the pieces whole when they fit", () => {
    const capture = makeBodyCapture()
    for (const piece of ['data: {"a":1}\n\n', "data: [DONE]\n\n"]) capture.add(piece)
    expect(capture.logged()).toEqual({ text: 'data: {"a":1}\n\ndata: [DONE]\n\n', truncated: false })
  })

  it("keeps the first 32 KiB of many pieces, redacted, and says the rest was cut", () => {
    const capture = makeBodyCapture()
    for (let i = 0; i < 5_000; i++) capture.add(`data: {"n":${i},"key":"sk-abcdefghijklmnopqrstuvwxyz"}\n\n`)
    const { text, truncated } = capture.logged()
    expect(truncated).toBe(true)
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(BODY_MAX_BYTES)
    expect(text.startsWith('data: {"n":0,"key":"[redacted]"}')).toBe(true)
    expect(text).not.toContain("sk-abc")
  })
})
