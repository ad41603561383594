import { describe, expect, it } from "@effect/vitest"
import {
  addAttempt,
  addCost,
  addUsage,
  captureAnswer,
  closeRecord,
  ERROR_MESSAGE_MAX,
  endStreamPart,
  newRequestRecord,
  setCaller,
  setError,
  setFirstToken,
  setRequestBody,
  setResponseBody,
  setServed,
  setStreamAnswer,
} from "../../../src/shared/RequestRecord.js"

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)
const fresh = () => newRequestRecord("row-1", "req-1", "openai-chat", "/v1/chat/completions", T0)

describe("request record", () => {
  it("starts with nothing known but the route; a JSON answer fills caller, attempts, upstream, usage, status and latency", () => {
    const record = fresh()
    expect(record).toMatchObject({
      authenticated: false,
      userId: null,
      status: 0,
      complete: false,
      attempts: [],
      costNanoUsd: null,
      errorClass: null,
    })
    setCaller(record, { userId: "u", apiKeyId: "k" })
    addAttempt(record, "a", "m1", "http", 503, 12.6)
    addAttempt(record, "b", "m2", "ok", 200, 40.2)
    setServed(record, "b", "m2")
    addUsage(record, { inputTokens: 10, outputTokens: 5, cachedInputTokens: 2 })
    closeRecord(record, 200, T0 + 57)
    expect(record).toMatchObject({
      authenticated: true,
      userId: "u",
      apiKeyId: "k",
      provider: "b",
      model: "m2",
      status: 200,
      latencyMs: 57,
      inputTokens: 10,
      outputTokens: 5,
      cachedInputTokens: 2,
      reasoningTokens: null,
    })
    expect(record.attempts).toEqual([
      { provider: "a", model: "m1", outcome: "http", status: 503, ms: 13 },
      { provider: "b", model: "m2", outcome: "ok", status: 200, ms: 40 },
    ])
  })

  it("usage of a stream's parts adds up; a missing, negative or non-finite count is not a count", () => {
    const record = fresh()
    addUsage(record, { inputTokens: 7, outputTokens: 3, reasoningTokens: 1 })
    addUsage(record, { inputTokens: 7, outputTokens: 4, reasoningTokens: Number.NaN, cachedInputTokens: -1 })
    expect(record).toMatchObject({ inputTokens: 14, outputTokens: 7, reasoningTokens: 1, cachedInputTokens: null })
  })

  it("cost adds up over the priced parts; it stays null while no part has a price", () => {
    const record = fresh()
    addCost(record, null)
    expect(record.costNanoUsd).toBeNull()
    addCost(record, 1_500)
    addCost(record, null)
    addCost(record, 250)
    expect(record.costNanoUsd).toBe(1_750)
  })

  it("time to first token is taken once, from the request's arrival", () => {
    const record = fresh()
    setFirstToken(record, T0 + 120)
    setFirstToken(record, T0 + 900)
    expect(record.ttftMs).toBe(120)
  })

  it("a stream cut after commit: the attempt says cut, the record StreamCut with the message; a rescue that completes clears the error", () => {
    const record = fresh()
    addAttempt(record, "a", "m", "ok", 200, 5)
    endStreamPart(record, { complete: false, error: "upstream stream error: socket hang up", rescued: true }, false)
    expect(record).toMatchObject({
      complete: false,
      rescued: false,
      errorClass: "StreamCut",
      errorMessage: "upstream stream error: socket hang up",
    })
    expect(record.attempts[0]!.outcome).toBe("cut")
    addAttempt(record, "b", "m", "ok", 200, 9)
    endStreamPart(record, { complete: true }, true)
    expect(record).toMatchObject({ complete: true, rescued: true, errorClass: null, errorMessage: null })
    expect(record.attempts.map((a) => a.outcome)).toEqual(["cut", "ok"])
  })

  it("a client that leaves mid-stream is ClientDisconnected (the attempt stays ok); the gateway's shutdown is Shutdown", () => {
    const left = fresh()
    addAttempt(left, "a", "m", "ok", 200, 5)
    endStreamPart(left, { complete: false, error: "client disconnected" }, false)
    expect(left).toMatchObject({ complete: false, errorClass: "ClientDisconnected" })
    expect(left.attempts[0]!.outcome).toBe("ok")
    const shut = fresh()
    endStreamPart(shut, { complete: false, error: "The gateway is shutting down", byGateway: true }, false)
    expect(shut.errorClass).toBe("Shutdown")
  })

  it("a 499 without another error is the client's leaving; an earlier error is kept", () => {
    const left = fresh()
    closeRecord(left, 499, T0 + 3)
    expect(left).toMatchObject({ status: 499, errorClass: "ClientDisconnected" })
    const failed = fresh()
    setError(failed, "AllUpstreamsFailed", "All upstream providers failed")
    closeRecord(failed, 499, T0 + 3)
    expect(failed.errorClass).toBe("AllUpstreamsFailed")
  })

  it("error messages are redacted and capped: no credential, never longer than ERROR_MESSAGE_MAX", () => {
    const record = fresh()
    setError(
      record,
      "UpstreamStatusError",
      `Incorrect API key provided: sk-proj-abcdefghijklmnop1234. ${"x".repeat(1_000)}`,
    )
    expect(record.errorMessage).not.toContain("sk-proj-abcdefghijklmnop1234")
    expect(record.errorMessage).toContain("[redacted]")
    expect(record.errorMessage!.length).toBeLessThanOrEqual(ERROR_MESSAGE_MAX)
  })

  it("an error message is one line any database column takes: control characters (NUL included) become spaces, a lone surrogate a replacement character", () => {
    const record = fresh()
    setError(record, "UpstreamStatusError", "bad\u0000byte\r\nnext line \uD83D and a whole pair \uD83D\uDE00")
    expect(record.errorMessage).toBe("bad byte next line \uFFFD and a whole pair \uD83D\uDE00")
    // A cap that falls inside a surrogate pair does not leave half of it.
    setError(record, "X", `${"a".repeat(ERROR_MESSAGE_MAX - 2)}\uD83D\uDE00tail`)
    expect(record.errorMessage!.endsWith("…")).toBe(true)
    expect(record.errorMessage).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
  })

  it("every mutator is a no-op without a record (REQUEST_LOG=off)", () => {
    expect(() => {
      setCaller(undefined, { userId: null, apiKeyId: null })
      addAttempt(undefined, "a", "m", "ok", 200, 1)
      setServed(undefined, "a", "m")
      addUsage(undefined, { inputTokens: 1 })
      setFirstToken(undefined, 1)
      setError(undefined, "X", "y")
      endStreamPart(undefined, { complete: true }, false)
      setRequestBody(undefined, "{}")
      setResponseBody(undefined, "{}")
      captureAnswer(undefined, "data: x")
      setStreamAnswer(undefined, "x")
    }).not.toThrow()
  })

  it("bodies are kept only when the caller's key keeps them (log_bodies): redacted, and marked when cut", () => {
    const off = fresh()
    setCaller(off, { userId: "u", apiKeyId: "k" })
    setRequestBody(off, '{"model":"m"}')
    setResponseBody(off, '{"id":"x"}')
    captureAnswer(off, "data: {}\n\n")
    closeRecord(off, 200, T0 + 1)
    expect(off).toMatchObject({
      logBodies: false,
      requestBody: null,
      responseBody: null,
      requestBodyTruncated: false,
      responseBodyTruncated: false,
    })

    const on = fresh()
    setCaller(on, { userId: "u", apiKeyId: "k", logBodies: true })
    setRequestBody(on, `{"model":"m","api_key":"secret-value","pad":"${"x".repeat(40_000)}"}`)
    setResponseBody(on, '{"id":"x"}')
    closeRecord(on, 200, T0 + 1)
    expect(on.requestBody).toContain('"api_key":"[redacted]"')
    expect(on).toMatchObject({
      logBodies: true,
      requestBodyTruncated: true,
      responseBody: '{"id":"x"}',
      responseBodyTruncated: false,
    })
  })

  it("a stream's answer: its assembled text when the last part gives one, else the first of the raw stream; the capture is dropped at close", () => {
    const assembled = fresh()
    setCaller(assembled, { userId: null, apiKeyId: null, logBodies: true })
    captureAnswer(assembled, 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n')
    setStreamAnswer(assembled, "Hel")
    captureAnswer(assembled, 'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n')
    // A continuation's transcript holds the whole answer.
    setStreamAnswer(assembled, "Hello")
    closeRecord(assembled, 200, T0 + 1)
    expect(assembled).toMatchObject({ responseBody: "Hello", responseBodyTruncated: false, answerCapture: undefined })

    const raw = fresh()
    setCaller(raw, { userId: null, apiKeyId: null, logBodies: true })
    captureAnswer(raw, 'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n')
    setStreamAnswer(raw, "Hi")
    captureAnswer(raw, 'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{}"}}]}}]}\n\n')
    // The continuation sent a tool call: its text alone would leave it out.
    setStreamAnswer(raw, undefined)
    closeRecord(raw, 200, T0 + 1)
    expect(raw.responseBody).toBe(
      'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{}"}}]}}]}\n\n',
    )
    expect(raw.answerCapture).toBeUndefined()
  })
})
