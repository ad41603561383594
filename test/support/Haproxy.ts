import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { freePort } from "./GatewayProcess.js"

/** The load balancer's configuration as deployed (docker-compose.yml, profile `replicas`). */
export const HAPROXY_CONFIG = fileURLToPath(new URL("../../deploy/haproxy.cfg", import.meta.url))

/** Whether an `haproxy` binary is on the PATH (Debian: `apt-get install haproxy`). */
export const haproxyInstalled = (): boolean => spawnSync("haproxy", ["-v"], { stdio: "ignore" }).error === undefined

/** One row of HAProxy's CSV statistics: a server, or a proxy's FRONTEND/BACKEND line. */
export interface HaproxyStat {
  readonly proxy: string
  readonly server: string
  /** `UP`, `DOWN`, `UP 1/2` (going down), `no check`, … */
  readonly status: string
  /** Answers cut before their headers, retries, redispatches to another server. */
  readonly responseErrors: number
  readonly retries: number
  readonly redispatches: number
  /** Answers with a 5xx status (from the server, or HAProxy's own 502/503). */
  readonly http5xx: number
}

export interface Haproxy {
  readonly child: ChildProcess
  /** Where clients connect: `http://127.0.0.1:PORT`. */
  readonly url: string
  /** The current statistics (`/stats;csv`). */
  readonly stats: () => Promise<ReadonlyArray<HaproxyStat>>
  /** The row of server `name` of the `gateways` backend. */
  readonly server: (name: string) => Promise<HaproxyStat>
  readonly stop: () => Promise<void>
}

const number = (value: string) => (value === "" ? 0 : Number(value))

const parseStats = (csv: string): ReadonlyArray<HaproxyStat> => {
  const [header = "", ...rows] = csv.trim().split("\n")
  const columns = header.replace(/^# /, "").split(",")
  return rows.map((row) => {
    const cells = row.split(",")
    const at = (name: string) => cells[columns.indexOf(name)] ?? ""
    return {
      proxy: at("pxname"),
      server: at("svname"),
      status: at("status"),
      responseErrors: number(at("eresp")),
      retries: number(at("wretr")),
      redispatches: number(at("wredis")),
      http5xx: number(at("hrsp_5xx")),
    }
  })
}

/**
 * Debian's haproxy running `deploy/haproxy.cfg` unchanged, on free loopback ports, in front of
 * `gateways` (`host:port` each, as `GATEWAY_1`, `GATEWAY_2`); resolves once every server is UP.
 */
export const startHaproxy = async (gateways: ReadonlyArray<string>): Promise<Haproxy> => {
  const [port, statsPort] = [await freePort(), await freePort()]
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    LB_BIND: `127.0.0.1:${port}`,
    STATS_BIND: `127.0.0.1:${statsPort}`,
  }
  for (const [i, address] of gateways.entries()) env[`GATEWAY_${i + 1}`] = address
  const child = spawn("haproxy", ["-db", "-f", HAPROXY_CONFIG], { env, stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  child.stdout.on("data", (chunk) => (log += String(chunk)))
  child.stderr.on("data", (chunk) => (log += String(chunk)))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  let gone = false
  void exited.then(() => (gone = true))
  const stop = async () => {
    if (gone) return
    child.kill("SIGTERM")
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))])
    if (!gone) child.kill("SIGKILL")
  }
  const stats = async () => parseStats(await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text())
  const server = async (name: string) => {
    const row = (await stats()).find((s) => s.proxy === "gateways" && s.server === name)
    if (row === undefined) throw new Error(`haproxy has no server ${name}`)
    return row
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    const up = await stats().then(
      (rows) => rows.filter((s) => s.proxy === "gateways" && s.status === "UP").length,
      () => 0,
    )
    if (up === gateways.length) break
    if (gone || Date.now() > deadline) {
      await stop()
      throw new Error(
        `haproxy did not bring up ${gateways.length} servers${gone ? " (it exited)" : " within 15 s"}\n${log.slice(-2000)}`,
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, url: `http://127.0.0.1:${port}`, stats, server, stop }
}
