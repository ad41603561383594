import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 11, item 2: every route outside the generation edge (the management API, /v1/models, …)
 * refuses a body over MANAGEMENT_BODY_LIMIT_BYTES (default 1 MB) with a 413 and closes the
 * connection, whether the length is declared or the body is chunked, before any handler (and so
 * any database or hashing work) sees it.
 */

interface RawAnswer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** Body bytes the client had written when the answer arrived. */
  readonly sent: number
  readonly ms: number
  /** The server closed the connection (within 3 s of the answer). */
  readonly closed: boolean
}

/**
 * POSTs `size` bytes of a JSON body in 64 KiB writes (chunked unless `declare`), stopping as soon
 * as an answer arrives; a write error after the answer (the server closed) is expected.
 */
const post = (
  base: string,
  path: string,
  size: number,
  options: { readonly declare?: boolean; readonly headers?: Record<string, string> } = {},
) =>
  new Promise<RawAnswer>((resolve, reject) => {
    const started = Date.now()
    const prefix = '{"username":"'
    const suffix = '","password":"x"}'
    const filler = Math.max(0, size - prefix.length - suffix.length)
    const request = http.request(`${base}${path}`, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        ...(options.declare ? { "content-length": String(size) } : {}),
        ...options.headers,
      },
    })
    let sent = 0
    let answered = false
    request.on("response", (response) => {
      answered = true
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => {
        const ms = Date.now() - started
        const socket = request.socket!
        const done = (closed: boolean) =>
          resolve({ status: response.statusCode!, headers: response.headers, body, sent, ms, closed })
        if (socket.destroyed || socket.readableEnded) return done(true)
        const timer = setTimeout(() => done(false), 3_000)
        const ended = () => {
          clearTimeout(timer)
          done(true)
        }
        socket.once("close", ended)
        socket.once("end", ended)
      })
      response.on("error", reject)
    })
    request.on("error", (error) => {
      if (!answered) reject(error)
    })
    const pump = () => {
      while (!answered && sent < size) {
        const piece =
          sent === 0
            ? prefix + "a".repeat(Math.min(65_536, filler))
            : sent + 65_536 >= size
              ? "a".repeat(Math.max(0, size - sent - suffix.length)) + suffix
              : "a".repeat(65_536)
        sent += Buffer.byteLength(piece)
        if (!request.write(piece)) return void request.once("drain", pump)
      }
      if (!answered) request.end()
    }
    pump()
  })

describe("body limit of the routes outside the generation edge", () => {
  let gateway: TestGateway

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { BOOTSTRAP_ADMIN: "false" } })
  })

  afterAll(async () => {
    await gateway?.close()
  })

  const expectTooLarge = (answer: RawAnswer) => {
    expect(answer.status).toBe(413)
    expect(answer.headers["connection"]).toBe("close")
    expect(answer.closed).toBe(true)
    expect(JSON.parse(answer.body)).toEqual({
      _tag: "PayloadTooLarge",
      message: "Request body exceeds the limit of 1048576 bytes",
    })
  }

  it("a declared 50 MB login body: 413 at once, nothing read", async () => {
    const answer = await post(gateway.url, "/auth/login", 50 * 1024 * 1024, { declare: true })
    console.log(
      `body limit: declared 50 MB to /auth/login → ${answer.status} in ${answer.ms} ms, ${answer.sent} bytes written by then`,
    )
    expectTooLarge(answer)
    expect(answer.ms).toBeLessThan(2_000)
  })

  it("a chunked 50 MB login body (no content-length): 413 once 1 MB arrived, the connection closed", async () => {
    const answer = await post(gateway.url, "/auth/login", 50 * 1024 * 1024)
    console.log(
      `body limit: chunked 50 MB to /auth/login → ${answer.status} in ${answer.ms} ms, ${answer.sent} bytes written by then`,
    )
    expectTooLarge(answer)
    expect(answer.sent).toBeLessThan(10 * 1024 * 1024)
  })

  it("a 5 MB username to /system/admin/init: 413, no echo", async () => {
    const answer = await post(gateway.url, "/system/admin/init", 5 * 1024 * 1024)
    expectTooLarge(answer)
    expect(answer.body.length).toBeLessThan(200)
  })

  it("the OpenAI-shaped data-plane routes answer in OpenAI's shape", async () => {
    const answer = await post(gateway.url, "/v1/models", 2 * 1024 * 1024, {
      declare: true,
      headers: { authorization: `Bearer ${gateway.masterKey}` },
    })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body).error).toMatchObject({ code: "request_too_large", type: "invalid_request_error" })
  })

  it("bodies under the limit, declared or chunked, still reach the handlers", async () => {
    for (const declare of [true, false]) {
      const answer = await post(gateway.url, "/auth/login", 900 * 1024, { declare })
      // Unknown user: the login handler answered (not the limit).
      expect(answer.status).not.toBe(413)
      expect(answer.status).toBeLessThan(500)
    }
    const login = await fetch(`${gateway.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "nobody", password: "wrong" }),
    })
    expect(login.status).toBe(401)
    const health = await fetch(`${gateway.url}/health`)
    expect(health.status).toBe(200)
  })
})
