import * as net from "node:net"

/** One HTTP/1.1 answer as it came off the wire. */
export interface RawAnswer {
  readonly status: number
  /** Header lines as sent, lower-cased names; repeated names keep every value. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The raw head (status line and header lines), for asserting on its exact bytes. */
  readonly head: string
  readonly body: string
}

export interface RawRequest {
  readonly method: string
  /** The request target exactly as sent, not encoded or checked. */
  readonly target: string
  /** Header lines exactly as sent: a value may hold CR/LF or any other byte. */
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: string | Buffer
}

/**
 * Sends one request over a fresh socket with no client-side checks (fetch and node:http refuse
 * the bytes a hostile client sends) and reads the answer until the server closes the connection
 * (`connection: close` is always sent). Resolves `undefined` when the server closed without a
 * status line (it refused the request at the socket), rejects on timeout.
 */
export const rawRequest = (port: number, request: RawRequest, timeoutMs = 10_000): Promise<RawAnswer | undefined> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const chunks: Array<Buffer> = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(
          `no answer within ${timeoutMs} ms to ${request.method} ${JSON.stringify(request.target).slice(0, 200)}`,
        ),
      )
    }, timeoutMs)
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")))
    })
    const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body)
    const lines = [`${request.method} ${request.target} HTTP/1.1`, "host: 127.0.0.1", "connection: close"]
    for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`)
    lines.push(`content-length: ${body.length}`)
    socket.write(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]))
  })

const parseAnswer = (text: string): RawAnswer | undefined => {
  const end = text.indexOf("\r\n\r\n")
  if (end < 0) return undefined
  const head = text.slice(0, end)
  const [statusLine, ...headerLines] = head.split("\r\n")
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? NaN)
  const headers = headerLines.map((line) => {
    const colon = line.indexOf(":")
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const
  })
  return { status, headers, head, body: text.slice(end + 4) }
}
