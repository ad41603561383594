import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { type GatewayProcess, startGatewayProcess } from "../support/GatewayProcess.js"
import { type Haproxy, haproxyInstalled, startHaproxy } from "../support/Haproxy.js"
import { createStorage, type SharedStorage } from "../support/TestGateway.js"

/**
 * Issue 16 item 9: the compose profile `replicas` on this machine — two gateway processes on one
 * PostgreSQL database and one Redis prefix, behind Debian's haproxy running deploy/haproxy.cfg
 * unchanged, with the mock provider upstream. Through the load balancer (its `X-Served-By` names
 * the replica that answered): a key made on one replica works on both, and limits, budgets and
 * circuits are counted once for both; then one replica is killed (SIGKILL) under load.
 * Needs DATABASE_URL and REDIS_URL (the embedded database and the in-memory store belong to one
 * process) and haproxy (.ci/run installs it).
 */

const skipReason =
  !process.env.DATABASE_URL || !process.env.REDIS_URL
    ? "skipped without DATABASE_URL and REDIS_URL: the embedded backends are per process"
    : !haproxyInstalled()
      ? "skipped: haproxy is not installed (apt-get install haproxy; .ci/run installs it)"
      : undefined

/** Every answer costs exactly one cent, so a budget's arithmetic is exact. */
const CENT = { "*": { input: 0, output: 0, request: 0.01 } }
const MODEL = "gpt-4o-mini"

const providersFile = (url: string) => ({
  providers: [
    { id: "oai", protocol: "openai", base_url: url, keys: [{ value: "sk-oai" }], models: [MODEL], prices: CENT },
    { id: "flaky", protocol: "openai", base_url: url, keys: [{ value: "sk-flaky" }], models: ["flaky-model"] },
    { id: "steady", protocol: "openai", base_url: url, keys: [{ value: "sk-steady" }], models: ["steady-model"] },
  ],
  logical_models: [
    {
      id: "resilient",
      upstreams: [
        { provider: "flaky", model: "flaky-model", priority: 0 },
        { provider: "steady", model: "steady-model", priority: 1 },
      ],
    },
  ],
})

interface Outcome {
  /** 0: the connection closed without an answer. */
  readonly status: number
  /** The replica HAProxy sent the request to (`gateway-1`, `gateway-2`), when it answered. */
  readonly servedBy: string | null
  readonly provider: string | null
  readonly attempts: string | null
  readonly code: string | null
  readonly retryAfter: string | null
}

/** A chat completion through the official SDK (no client retries); what came back, error or not. */
const chat = async (baseUrl: string, apiKey: string, model = MODEL): Promise<Outcome> => {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0 })
  const answered = (status: number, headers: Headers | undefined, code: string | null): Outcome => ({
    status,
    servedBy: headers?.get("x-served-by") ?? null,
    provider: headers?.get("x-apiproxy-provider") ?? null,
    attempts: headers?.get("x-apiproxy-attempts") ?? null,
    code,
    retryAfter: headers?.get("retry-after") ?? null,
  })
  try {
    const { response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    return answered(response.status, response.headers, null)
  } catch (error) {
    if (error instanceof OpenAI.APIConnectionError) return answered(0, undefined, "connection_closed")
    if (error instanceof OpenAI.APIError && error.status !== undefined)
      return answered(error.status, error.headers, (error.code as string | null) ?? null)
    throw error
  }
}

const replicasOf = (outcomes: ReadonlyArray<Outcome>) => new Set(outcomes.map((o) => o.servedBy))

describe.skipIf(skipReason !== undefined)(
  `scale-out: two gateway processes behind HAProxy${skipReason ? ` (${skipReason})` : ""}`,
  () => {
    let upstream: MockProvider
    let storage: SharedStorage
    let one: GatewayProcess
    let two: GatewayProcess
    let lb: Haproxy
    const api = gatewayApi(
      () => lb.url,
      () => one.masterKey,
    )
    // A cool-down longer than the test: an opened circuit stays open while both replicas are asked.
    // A stopping replica fails /health for 3 s first: HAProxy (checks every 1 s, down after 2
    // failures) takes it out of rotation before it closes its listener (as the compose profile).
    const env = {
      TRUST_PROXY: "true",
      SHUTDOWN_DRAIN: "3 seconds",
      CIRCUIT_FAILURE_THRESHOLD: "3",
      CIRCUIT_COOLDOWN: "60 seconds",
      CIRCUIT_MAX_COOLDOWN: "60 seconds",
    }
    const startReplica = (port?: number) =>
      startGatewayProcess({
        storage,
        env,
        gatewayFile: providersFile(upstream.url),
        ...(port !== undefined ? { port } : {}),
      })
    /**
     * Under load (answers take 150 ms, so about half the clients wait on each replica), sends
     * `signal` to `replica`; once it has exited and HAProxy marked `name` DOWN, the load goes on
     * for `thenMs`. Every outcome, and when each step happened.
     */
    const signalUnderLoad = async (replica: GatewayProcess, name: string, signal: NodeJS.Signals, thenMs: number) => {
      upstream.setDefault({ delayMs: 150 })
      try {
        const load = startLoad(lb.url, one.masterKey)
        await load.warmedUp
        const signalledAt = Date.now()
        replica.child.kill(signal)
        // Watched from the signal on: a draining replica is marked DOWN before it exits.
        const down = serverBecomes(name, "DOWN", 15_000)
        const goneAt = (await replica.exited).at
        const downAt = await down
        return { outcomes: await load.stopAfter(thenMs), signalledAt, goneAt, downAt }
      } finally {
        upstream.setDefault(undefined)
      }
    }
    /** Waits until HAProxy reports `server` with a status starting with `status`; when that was. */
    const serverBecomes = async (server: string, status: "UP" | "DOWN", timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs
      while (!(await lb.server(server)).status.startsWith(status)) {
        if (Date.now() > deadline) throw new Error(`haproxy did not mark ${server} ${status} within ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 20))
      }
      return Date.now()
    }

    beforeAll(async () => {
      upstream = await startMockProvider({ models: [MODEL, "flaky-model", "steady-model"] })
      storage = await createStorage()
      // One after the other, as a rolling deployment (and the compose profile) starts them.
      one = await startReplica()
      two = await startReplica()
      lb = await startHaproxy([one.url, two.url].map((url) => new URL(url).host))
    }, 120_000)

    afterAll(async () => {
      await lb?.stop()
      await one?.stop()
      await two?.stop()
      await storage?.close()
      await upstream?.close()
    })

    it("a key created on one replica works through both; deactivated on the other, both refuse it", async () => {
      const direct = gatewayApi(
        () => one.url,
        () => one.masterKey,
      )
      const userId = await direct.createUser("scale-keys")
      const key = await direct.createKey(userId, "made-on-gateway-1")
      const answers = await sequence(6, () => chat(lb.url, key.token))
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200))
      expect(replicasOf(answers)).toEqual(new Set(["gateway-1", "gateway-2"]))
      expect((await chat(two.url, key.token)).status).toBe(200)

      const off = await gatewayApi(
        () => two.url,
        () => two.masterKey,
      ).call("PUT", `/users/${userId}/api-keys/${key.id}`, two.masterKey, { is_active: false })
      expect(off.status).toBe(200)
      const refused = await sequence(4, () => chat(lb.url, key.token))
      expect(refused.map((a) => a.status)).toEqual(Array(4).fill(401))
      expect(replicasOf(refused)).toEqual(new Set(["gateway-1", "gateway-2"]))
    })

    it("requests_per_minute is one count for both replicas", async () => {
      const userId = await api.createUser("scale-rpm")
      const created = await api.call("POST", `/users/${userId}/api-keys`, one.masterKey, {
        name: "rpm",
        requests_per_minute: 10,
      })
      expect(created.status).toBe(201)
      await outsideMinuteEnd()
      const answers = await sequence(20, () => chat(lb.url, created.body.token))
      const served = answers.filter((a) => a.status === 200)
      const limited = answers.filter((a) => a.status === 429)
      // Counted per replica, each would let 10 through: 20 in all.
      expect(served).toHaveLength(10)
      expect(limited).toHaveLength(10)
      expect(replicasOf(served)).toEqual(new Set(["gateway-1", "gateway-2"]))
      expect(replicasOf(limited)).toEqual(new Set(["gateway-1", "gateway-2"]))
      for (const a of limited) expect(Number(a.retryAfter)).toBeGreaterThan(0)
      const perReplica = (outcomes: ReadonlyArray<Outcome>, name: string) =>
        outcomes.filter((o) => o.servedBy === name).length
      console.log(
        `scale-out rpm 10: 20 requests through haproxy → ${served.length} served (gateway-1 ${perReplica(served, "gateway-1")}, ` +
          `gateway-2 ${perReplica(served, "gateway-2")}), ${limited.length} × 429 (gateway-1 ${perReplica(limited, "gateway-1")}, gateway-2 ${perReplica(limited, "gateway-2")})`,
      )
    })

    it("a budget is spent once for both replicas", async () => {
      const userId = await api.createUser("scale-budget")
      const key = await api.createKey(userId, "budget")
      const path = `/users/${userId}/api-keys/${key.id}/budget`
      expect((await api.call("PUT", path, one.masterKey, { amount_usd: "0.05", period: "day" })).status).toBe(200)
      const answers: Array<Outcome> = []
      for (let i = 0; i < 10; i++) {
        const answer = await chat(lb.url, key.token)
        answers.push(answer)
        // Spend is counted just after an answer, off its path: wait until both replicas see it.
        const used = (answers.filter((a) => a.status === 200).length / 100).toFixed(2)
        for (const replica of [one, two]) await usedBecomes(replica, path, used)
      }
      const served = answers.filter((a) => a.status === 200)
      const refused = answers.filter((a) => a.status === 429)
      // Five cents at one cent an answer; a budget per replica would have let all ten through.
      expect(served).toHaveLength(5)
      expect(refused.map((a) => a.code)).toEqual(Array(5).fill("budget_exceeded"))
      expect(replicasOf(served)).toEqual(new Set(["gateway-1", "gateway-2"]))
      expect(replicasOf(refused)).toEqual(new Set(["gateway-1", "gateway-2"]))
    })

    it("a circuit opened by failures seen on both replicas keeps both away from the failing upstream", async () => {
      upstream.setDefault((request) => (request.model === "flaky-model" ? { status: 503 } : undefined))
      try {
        // Three failed requests, alternating replicas: neither saw the threshold (3) on its own.
        const failing = await sequence(3, () => chat(lb.url, one.masterKey, "resilient"))
        expect(failing.map((a) => [a.status, a.provider])).toEqual(Array(3).fill([200, "steady"]))
        expect(replicasOf(failing)).toEqual(new Set(["gateway-1", "gateway-2"]))
        const calls = upstream.received.filter((r) => r.model === "flaky-model").length
        const after = await sequence(6, () => chat(lb.url, one.masterKey, "resilient"))
        for (const a of after) expect([a.status, a.provider, a.attempts]).toEqual([200, "steady", "1"])
        expect(replicasOf(after)).toEqual(new Set(["gateway-1", "gateway-2"]))
        expect(upstream.received.filter((r) => r.model === "flaky-model")).toHaveLength(calls)
      } finally {
        upstream.setDefault(undefined)
      }
    })

    it("a replica stopped with SIGTERM (a rolling restart) finishes what it has; restarted, it takes traffic again", async () => {
      const {
        outcomes,
        signalledAt: stoppedAt,
        goneAt,
        downAt,
      } = await signalUnderLoad(two, "gateway-2", "SIGTERM", 500)
      // The same address again, as a rolling deployment restarts it: two good checks bring it back.
      const port = Number(new URL(two.url).port)
      await two.stop()
      two = await startReplica(port)
      await serverBecomes("gateway-2", "UP")
      const back = await sequence(6, () => chat(lb.url, one.masterKey))

      const drained = outcomes.filter(
        (o) => o.servedBy === "gateway-2" && o.startedAt < stoppedAt && o.endedAt > stoppedAt,
      )
      const failed = outcomes.filter((o) => o.status !== 200)
      console.log(
        `scale-out SIGTERM: ${LOAD_WORKERS} clients through haproxy, 150 ms answers; gateway-2 exited ${goneAt - stoppedAt} ms after SIGTERM ` +
          `(marked DOWN ${goneAt - downAt} ms before that); ${outcomes.length} requests: ${outcomes.length - failed.length} ok — ` +
          `${drained.length} in flight on gateway-2 at SIGTERM answered by it — failed: ${describeFailures(outcomes)}`,
      )
      // What it had when told to stop, it answered; nothing was cut (no 502) or refused (no 503),
      // and no request met a closing connection: HAProxy had marked it DOWN (its /health failing
      // during SHUTDOWN_DRAIN) before it closed its listener.
      expect(drained.length).toBeGreaterThan(0)
      expect(downAt).toBeLessThan(goneAt)
      expect(failed).toEqual([])
      expect(replicasOf(back)).toEqual(new Set(["gateway-1", "gateway-2"]))
    }, 90_000)

    it("a replica killed under load: only its requests in flight fail, every later one is served by the other", async () => {
      const before = { one: await lb.server("gateway-1"), two: await lb.server("gateway-2") }
      // Until the process is gone (its sockets closed), requests may still reach it.
      const {
        outcomes,
        signalledAt: killedAt,
        goneAt,
        downAt,
      } = await signalUnderLoad(one, "gateway-1", "SIGKILL", 1_000)

      const beforeKill = outcomes.filter((o) => o.endedAt < killedAt)
      const whileDying = outcomes.filter((o) => o.startedAt <= goneAt && o.endedAt >= killedAt)
      const afterDeath = outcomes.filter((o) => o.startedAt > goneAt)
      const failed = outcomes.filter((o) => o.status !== 200)
      const after = { one: await lb.server("gateway-1"), two: await lb.server("gateway-2") }
      const delta = (field: "retries" | "redispatches" | "responseErrors" | "http5xx") =>
        after.one[field] - before.one[field] + after.two[field] - before.two[field]
      console.log(
        [
          `scale-out SIGKILL: ${LOAD_WORKERS} clients through haproxy, 150 ms answers; gateway-1 killed, gone ${goneAt - killedAt} ms later; ${outcomes.length} requests`,
          `  before the kill: ${beforeKill.length} requests, ${beforeKill.filter((o) => o.status === 200).length} ok (gateway-1 ${served(beforeKill, "gateway-1")}, gateway-2 ${served(beforeKill, "gateway-2")})`,
          `  in flight while it died: ${whileDying.length} — ${whileDying.filter((o) => o.status === 200).length} ok ` +
            `(gateway-1 ${served(whileDying, "gateway-1")}, gateway-2 ${served(whileDying, "gateway-2")}), failed: ${describeFailures(whileDying)}`,
          `  sent after it was gone: ${afterDeath.length} requests, ${afterDeath.filter((o) => o.status === 200).length} ok (gateway-2 ${served(afterDeath, "gateway-2")})`,
          `  haproxy: gateway-1 DOWN ${downAt - goneAt} ms after it was gone; ` +
            `requests moved to gateway-2 after a refused connection ${delta("retries") + delta("redispatches")}; answers cut before their headers ${delta("responseErrors")}`,
        ].join("\n"),
      )

      expect(beforeKill.every((o) => o.status === 200)).toBe(true)
      expect(served(beforeKill, "gateway-1")).toBeGreaterThan(0)
      // The kill hit what was in flight on gateway-1 (it always has some under this load) and
      // nothing else: each failure was sent before the process was gone, and every request HAProxy
      // sent to gateway-2 was answered (no 5xx, no aborted answer there).
      expect(failed.length).toBeGreaterThanOrEqual(1)
      expect([after.two.http5xx - before.two.http5xx, after.two.responseErrors - before.two.responseErrors]).toEqual([
        0, 0,
      ])
      for (const o of failed) {
        // (This process sees the exit a few ms after the kernel closed the replica's sockets and
        // before HAProxy may have noticed the closed idle ones: a 50 ms margin.)
        expect(o.startedAt).toBeLessThanOrEqual(goneAt + 50)
        // 502 from haproxy, or (on a kept-alive connection) a close without an answer.
        expect([0, 502]).toContain(o.status)
      }
      // Everything sent once it was gone was answered by the survivor: refused connections to the
      // dead replica are retried on the other, and health checks take it out within ~2 s.
      expect(afterDeath.length).toBeGreaterThan(LOAD_WORKERS)
      expect(
        afterDeath
          .filter((o) => o.startedAt > goneAt + 50)
          .every((o) => o.status === 200 && o.servedBy === "gateway-2"),
      ).toBe(true)

      const later = await sequence(10, () => chat(lb.url, one.masterKey))
      expect(later.map((a) => [a.status, a.servedBy])).toEqual(Array(10).fill([200, "gateway-2"]))
    }, 60_000)
  },
)

interface Timed extends Outcome {
  readonly startedAt: number
  readonly endedAt: number
}

/** Clients under load: each sends its next request as soon as the last is answered. */
const LOAD_WORKERS = 8

/**
 * `LOAD_WORKERS` clients through `url`; `warmedUp` once each was answered twice on average (both
 * replicas busy); `stopAfter(ms)` lets them go on that long, then returns every outcome.
 */
const startLoad = (url: string, apiKey: string) => {
  const outcomes: Array<Timed> = []
  let stopAt = Number.POSITIVE_INFINITY
  const done = Promise.all(
    Array.from({ length: LOAD_WORKERS }, async () => {
      while (Date.now() < stopAt) {
        const startedAt = Date.now()
        const outcome = await chat(url, apiKey)
        outcomes.push({ ...outcome, startedAt, endedAt: Date.now() })
      }
    }),
  )
  const warmedUp = (async () => {
    while (outcomes.length < 2 * LOAD_WORKERS) await new Promise((r) => setTimeout(r, 20))
  })()
  const stopAfter = async (ms: number) => {
    stopAt = Date.now() + ms
    await done
    return outcomes
  }
  return { warmedUp, stopAfter }
}

/** How many of `outcomes` `replica` answered successfully. */
const served = (outcomes: ReadonlyArray<Outcome>, replica: string) =>
  outcomes.filter((o) => o.status === 200 && o.servedBy === replica).length

/** How the failed ones failed: `3 × connection closed, 1 × 502`. */
const describeFailures = (outcomes: ReadonlyArray<Outcome>) => {
  const counts = new Map<string, number>()
  for (const o of outcomes)
    if (o.status !== 200) {
      const what = o.status === 0 ? "connection closed without an answer" : `${o.status}`
      counts.set(what, (counts.get(what) ?? 0) + 1)
    }
  return [...counts].map(([what, n]) => `${n} × ${what}`).join(", ") || "none"
}

/** `n` calls one after the other. */
const sequence = async <A>(n: number, call: () => Promise<A>): Promise<Array<A>> => {
  const results: Array<A> = []
  for (let i = 0; i < n; i++) results.push(await call())
  return results
}

/** Rate limits count in fixed UTC minutes: a burst must not straddle the end of one. */
const outsideMinuteEnd = async () => {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 50))
}

/** Waits until the budget at `path`, read on `replica` directly, shows `used` (USD text). */
const usedBecomes = async (replica: GatewayProcess, path: string, used: string) => {
  const api = gatewayApi(
    () => replica.url,
    () => replica.masterKey,
  )
  let status: { used_usd?: string } | undefined
  for (let i = 0; i < 100; i++) {
    status = (await api.call("GET", path, replica.masterKey)).body
    if (status?.used_usd === used) return
    await new Promise((r) => setTimeout(r, 20))
  }
  expect(status?.used_usd).toBe(used)
}
