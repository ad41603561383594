import { describe, expect, it } from "vitest"
import { ApiError } from "../../../console/src/api/ApiError.js"
import { streamChat } from "../../../console/src/api/ChatStream.js"

const frame = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`

/** A fetch that answers with `parts` as a streamed body (each part its own chunk), and the headers given. */
const answering =
  (parts: ReadonlyArray<string>, init: ResponseInit = {}): typeof fetch =>
  async () =>
    new Response(
      new ReadableStream({
        start(controller) {
          for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
          controller.close()
        },
      }),
      {
        status: 200,
        ...init,
        headers: { "content-type": "text/event-stream", ...(init.headers as Record<string, string>) },
      },
    )

const run = async (fetchFn: typeof fetch) => {
  const texts: Array<string> = []
  let headers: ReadonlyArray<readonly [string, string]> = []
  const outcome = await streamChat(
    { apiKey: "k", model: "m", message: "hi" },
    { onHeaders: (h) => (headers = h), onText: (t) => texts.push(t) },
    fetchFn,
  ).then(
    () => "complete",
    (error: unknown) => (error instanceof ApiError ? `${error.status}: ${error.message}` : `defect: ${String(error)}`),
  )
  return { texts, headers, outcome }
}

describe("the playground's chat stream", () => {
  it("relays each delta as it comes and completes on [DONE], with the gateway's headers only", async () => {
    const body = frame("Hel") + frame("lo") + "data: [DONE]\n\n"
    const result = await run(
      answering([body.slice(0, 7), body.slice(7, 50), body.slice(50)], {
        headers: {
          "x-apiproxy-provider": "mock",
          "x-apiproxy-attempts": "1",
          "x-request-id": "r1",
          "set-cookie": "no",
        },
      }),
    )
    expect(result).toEqual({
      texts: ["Hel", "lo"],
      outcome: "complete",
      headers: [
        ["x-apiproxy-attempts", "1"],
        ["x-apiproxy-provider", "mock"],
        ["x-request-id", "r1"],
      ],
    })
  })

  it("a stream that ends without [DONE] is reported as cut, never as complete", async () => {
    const result = await run(answering([frame("Hel")]))
    expect(result.texts).toEqual(["Hel"])
    expect(result.outcome).toBe("200: The stream ended before the answer was complete")
  })

  it("an in-band error frame fails the answer with its message", async () => {
    const result = await run(
      answering([
        frame("Hel"),
        'data: {"error":{"message":"The upstream stream broke","type":"server_error"}}\n\n',
        "data: [DONE]\n\n",
      ]),
    )
    expect(result.outcome).toBe("200: The upstream stream broke")
  })

  it("an error answer (a revoked key) fails with the gateway's message", async () => {
    const refused: typeof fetch = async () =>
      new Response(
        JSON.stringify({
          error: { message: "Invalid API key", type: "invalid_request_error", code: "invalid_api_key" },
        }),
        {
          status: 401,
          headers: { "content-type": "application/json" },
        },
      )
    expect((await run(refused)).outcome).toBe("401: Invalid API key")
  })
})
