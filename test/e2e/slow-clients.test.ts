import * as http from "node:http"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 11, item 5: slow clients cannot hold the gateway's connections, and a burst does not leave
 * idle connections to a provider open. Small timeouts (HEADERS_TIMEOUT=1 s, REQUEST_TIMEOUT=2 s)
 * keep it fast; the figures are printed.
 */

const CAP = 50

interface Held {
  readonly socket: net.Socket
  readonly openedAt: number
  closedAt: number | undefined
  /** What the server wrote before closing (e.g. a 408). */
  received: string
}

/** A raw connection from `localAddress` (any 127/8 address reaches the loopback listener). */
const hold = (port: number, localAddress: string) =>
  new Promise<Held>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress })
    const held: Held = { socket, openedAt: Date.now(), closedAt: undefined, received: "" }
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (held.received += chunk))
    socket.on("error", () => {})
    socket.once("close", () => (held.closedAt = Date.now()))
    socket.once("connect", () => resolve(held))
    socket.once("error", (error) => (held.closedAt === undefined && !socket.connecting ? undefined : reject(error)))
  })

/** Writes `piece` every `everyMs` until the connection closes. */
const trickle = (held: Held, piece: string, everyMs: number) => {
  const timer = setInterval(() => {
    if (held.socket.destroyed || held.closedAt !== undefined) return clearInterval(timer)
    held.socket.write(piece)
  }, everyMs)
  held.socket.once("close", () => clearInterval(timer))
}

const waitUntil = async (predicate: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!predicate() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
}

const percentile = (values: ReadonlyArray<number>, p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN

/** A provider that hints `Keep-Alive: timeout=600` (as some do) and counts its open connections. */
const startKeepAliveProvider = async () => {
  const open = new Set<net.Socket>()
  let served = 0
  const server = http.createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      served++
      const body = JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1,
        model: "keepalive-model",
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      })
      // Answer a little later, so a burst needs many connections at once.
      setTimeout(() => {
        response.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "keep-alive": "timeout=600",
        })
        response.end(body)
      }, 50)
    })
  })
  server.keepAliveTimeout = 600_000
  server.on("connection", (socket: net.Socket) => {
    open.add(socket)
    socket.once("close", () => open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    open: () => open.size,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

describe("slow clients and idle upstream connections", () => {
  let mock: MockProvider
  let keepAlive: Awaited<ReturnType<typeof startKeepAliveProvider>>
  let gateway: TestGateway
  let port: number

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["slow-model"] })
    keepAlive = await startKeepAliveProvider()
    gateway = await startTestGateway({
      env: {
        HEADERS_TIMEOUT: "1 second",
        REQUEST_TIMEOUT: "2 seconds",
        MAX_CONNECTIONS_PER_CLIENT: String(CAP),
        UPSTREAM_KEEPALIVE_TIMEOUT: "1 second",
        UPSTREAM_KEEPALIVE_MAX_TIMEOUT: "1 second",
      },
      gatewayFile: {
        providers: [
          {
            id: "slow",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-slow-secret" }],
            models: ["slow-model"],
          },
          {
            id: "keepalive",
            protocol: "openai",
            base_url: keepAlive.url,
            keys: [{ value: "sk-keepalive-secret" }],
            models: ["keepalive-model"],
          },
        ],
        logical_models: [
          { id: "slow", upstreams: [{ provider: "slow", model: "slow-model" }] },
          { id: "keepalive", upstreams: [{ provider: "keepalive", model: "keepalive-model" }] },
        ],
      },
    })
    port = Number(new URL(gateway.url).port)
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
    await keepAlive?.close()
  })

  const healthMs = async () => {
    const started = performance.now()
    const response = await fetch(`${gateway.url}/health`)
    expect(response.status).toBe(200)
    return performance.now() - started
  }

  it("slowloris: 200 connections trickling header bytes are closed after HEADERS_TIMEOUT, the gateway serves meanwhile", async () => {
    // 50 connections from each of 4 addresses: at the per-client cap, none refused for it.
    const held = await Promise.all(Array.from({ length: 200 }, (_, i) => hold(port, `127.0.0.${10 + (i % 4)}`)))
    for (const h of held) {
      h.socket.write("POST /auth/login HTTP/1.1\r\nHost: gateway\r\n")
      trickle(h, "x-slow: 1\r\n", 200)
    }
    // And connections that never send a byte.
    const silent = await Promise.all(Array.from({ length: 20 }, () => hold(port, "127.0.0.14")))
    const served: Array<number> = []
    const started = Date.now()
    while (Date.now() - started < 800) {
      served.push(await healthMs())
      await new Promise((r) => setTimeout(r, 50))
    }
    await waitUntil(() => held.every((h) => h.closedAt !== undefined), 5_000)
    const lifetimes = held.filter((h) => h.closedAt !== undefined).map((h) => h.closedAt! - h.openedAt)
    console.log(
      `slowloris: ${lifetimes.length}/200 trickling connections closed by the server (HEADERS_TIMEOUT=1 s): ` +
        `median ${percentile(lifetimes, 0.5)} ms, max ${Math.max(...lifetimes)} ms after opening; ` +
        `${held.filter((h) => h.received.startsWith("HTTP/1.1 408")).length} got a 408; ` +
        `${served.length} /health requests meanwhile, slowest ${Math.max(...served).toFixed(1)} ms`,
    )
    await waitUntil(() => silent.every((h) => h.closedAt !== undefined), 4_000)
    const silentLifetimes = silent.filter((h) => h.closedAt !== undefined).map((h) => h.closedAt! - h.openedAt)
    console.log(
      `silent connections: ${silentLifetimes.length}/20 closed by the server, max ${Math.max(...silentLifetimes)} ms after opening`,
    )
    expect(silentLifetimes).toHaveLength(20)
    expect(lifetimes).toHaveLength(200)
    // 1 s, plus Node's check interval (250 ms here), plus slack for a loaded CI machine.
    expect(Math.max(...lifetimes)).toBeLessThan(4_000)
    // Served all along (the 200 connections hold nothing the gateway needs).
    expect(served.length).toBeGreaterThanOrEqual(2)
    expect(Math.max(...served)).toBeLessThan(1_500)
  })

  it("slow bodies (management and generation routes) are cut after REQUEST_TIMEOUT", async () => {
    const targets = ["/auth/login", "/v1/chat/completions"]
    const held = await Promise.all(targets.map(() => hold(port, "127.0.0.20")))
    held.forEach((h, i) => {
      h.socket.write(
        `POST ${targets[i]} HTTP/1.1\r\nHost: gateway\r\nauthorization: Bearer ${gateway.masterKey}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`,
      )
      trickle(h, " ", 100)
    })
    await waitUntil(() => held.every((h) => h.closedAt !== undefined), 5_000)
    const lifetimes = held.map((h) => (h.closedAt === undefined ? Infinity : h.closedAt - h.openedAt))
    console.log(
      `slow bodies: ${targets.map((t, i) => `${t} closed after ${lifetimes[i]} ms`).join(", ")} (REQUEST_TIMEOUT=2 s)`,
    )
    for (const ms of lifetimes) {
      expect(ms).toBeGreaterThanOrEqual(1_900)
      expect(ms).toBeLessThan(4_000)
    }
    await healthMs()
  })

  it("a streamed answer longer than REQUEST_TIMEOUT is not cut", async () => {
    mock.script({ chunkCount: 8, chunkDelayMs: 400 })
    const started = Date.now()
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "take your time" }] }),
    })
    const text = await response.text()
    const ms = Date.now() - started
    console.log(`long stream: ${ms} ms, complete: ${text.includes("data: [DONE]")} (REQUEST_TIMEOUT=2 s)`)
    expect(response.status).toBe(200)
    expect(ms).toBeGreaterThan(2_500)
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true)
  })

  it(`connections over MAX_CONNECTIONS_PER_CLIENT (${CAP}) from one address are closed at once; other addresses are served`, async () => {
    const held = await Promise.all(Array.from({ length: CAP + 20 }, () => hold(port, "127.0.0.30")))
    await waitUntil(() => held.filter((h) => h.closedAt !== undefined).length >= 20, 2_000)
    const refused = held.filter((h) => h.closedAt !== undefined)
    console.log(
      `per-client cap: ${CAP + 20} connections from one address, ${refused.length} closed by the server within ` +
        `${Math.max(...refused.map((h) => h.closedAt! - h.openedAt))} ms, ${held.length - refused.length} kept`,
    )
    expect(refused).toHaveLength(20)
    // The kept ones are real connections: one of them is answered.
    const kept = held.find((h) => h.closedAt === undefined)!
    kept.socket.write("GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
    await waitUntil(() => kept.received.includes("\r\n\r\n"), 2_000)
    expect(kept.received.startsWith("HTTP/1.1 200")).toBe(true)
    // Another address is not affected.
    await healthMs()
    for (const h of held) h.socket.destroy()
    // Once they closed, the address may connect again.
    await waitUntil(() => held.every((h) => h.closedAt !== undefined), 1_000)
    await new Promise((r) => setTimeout(r, 100))
    const again = await hold(port, "127.0.0.30")
    again.socket.write("GET /health HTTP/1.1\r\nHost: gateway\r\nconnection: close\r\n\r\n")
    await waitUntil(() => again.closedAt !== undefined, 2_000)
    expect(again.received.startsWith("HTTP/1.1 200")).toBe(true)
  })

  it("idle upstream connections close after UPSTREAM_KEEPALIVE_TIMEOUT despite the provider's Keep-Alive: timeout=600", async () => {
    const burst = await Promise.all(
      // Under the per-client cap: the test's requests all come from 127.0.0.1.
      Array.from({ length: 40 }, () =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "keepalive", messages: [{ role: "user", content: "hi" }] }),
        }).then((r) => r.status),
      ),
    )
    expect(burst.every((s) => s === 200)).toBe(true)
    const afterBurst = keepAlive.open()
    const started = Date.now()
    await waitUntil(() => keepAlive.open() === 0, 4_000)
    const closedAfter = Date.now() - started
    console.log(
      `upstream keep-alive: ${keepAlive.served()} requests in a burst, ${afterBurst} open connections to the provider after it, ` +
        `${keepAlive.open()} left ${closedAfter} ms later (UPSTREAM_KEEPALIVE_TIMEOUT=1 s, provider hint 600 s)`,
    )
    expect(afterBurst).toBeGreaterThan(1)
    expect(keepAlive.open()).toBe(0)
    expect(closedAfter).toBeLessThan(3_000)
  })
})
