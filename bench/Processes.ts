/**
 * The child processes of a bench run (bench/run.ts, bench/compare.ts): the bench/*.ts servers,
 * a free loopback port, waiting for a gateway's /health, stopping a child, and a process's own
 * CPU time and memory from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createServer } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly url: string
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Starts a bench/*.ts server and waits for the `{"port": N}` line it prints. `spawned` sees the
 * process at once (the caller kills what it started on exit); `nodeArgs` go before the script.
 */
export const startTsServer = (
  name: string,
  file: string,
  env: Record<string, string>,
  spawned: (proc: ChildProcess) => void,
  nodeArgs: ReadonlyArray<string> = [],
): Promise<Child> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...nodeArgs, "--import", "tsx", path.join(ROOT, "bench", file)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    })
    spawned(proc)
    let buffer = ""
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000)
    proc.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening`)))
    proc.stdout!.on("data", (data: Buffer) => {
      buffer += data.toString("utf8")
      const line = buffer.split("\n")[0]
      if (buffer.includes("\n") && line) {
        clearTimeout(timer)
        const { port } = JSON.parse(line) as { port: number }
        proc.stdout!.removeAllListeners("data")
        proc.stdout!.resume()
        resolve({ name, proc, url: `http://127.0.0.1:${port}` })
      }
    })
  })

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const address = s.address()
      const port = typeof address === "object" && address ? address.port : 0
      s.close(() => resolve(port))
    })
  })

export const waitHealthy = async (url: string, proc: ChildProcess, timeoutMs: number, pollMs = 200) => {
  const deadline = Date.now() + timeoutMs
  const pool = new Pool(url, { connections: 1 })
  try {
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`gateway exited with code ${proc.exitCode} (see its log)`)
      try {
        const res = await pool.request({ path: "/health", method: "GET" })
        await res.body.dump()
        if (res.statusCode === 200) return
      } catch {
        // not listening yet
      }
      await sleep(pollMs)
    }
    throw new Error(`gateway not healthy within ${timeoutMs / 1000} s`)
  } finally {
    await pool.close()
  }
}

export const stopChild = async (proc: ChildProcess, timeoutMs = 15_000) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((r) => proc.once("exit", () => r()))
  proc.kill("SIGTERM")
  const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)])
  if (timedOut) {
    proc.kill("SIGKILL")
    await exited
  }
}

export const rssMb = (pid: number): { rss: number; hwm: number } => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? "NaN")
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 }
}

/** CPU time (user + system) a process has used so far, in microseconds. */
export const cpuUs = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
}

const PAGE = 4096
const PRESENT = 1n << 63n
const FRAME_MASK = (1n << 55n) - 1n

/** The address ranges of a process that have resident pages (from /proc/<pid>/smaps). */
const residentRanges = (pid: number): ReadonlyArray<readonly [number, number]> => {
  const ranges: Array<readonly [number, number]> = []
  let current: readonly [number, number] | undefined
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line)
    if (range !== null)
      current = line.includes("[vsyscall]")
        ? undefined
        : [Number.parseInt(range[1]!, 16), Number.parseInt(range[2]!, 16)]
    else if (current !== undefined && line.startsWith("Rss:") && !/^Rss:\s+0 kB/.test(line)) ranges.push(current)
  }
  return ranges
}

/**
 * Resident memory of several processes together in MB, each physical page counted once. The
 * gateway and its embedded database's process both map the node binary and the same libraries:
 * adding their VmRSS counts those pages twice. Reads the page frame numbers from
 * /proc/<pid>/pagemap, which the kernel shows only to root; `undefined` when it hides them.
 */
export const residentTogetherMb = (pids: ReadonlyArray<number>): number | undefined => {
  const frames = new Set<bigint>()
  for (const pid of pids) {
    const pagemap = fs.openSync(`/proc/${pid}/pagemap`, "r")
    try {
      for (const [start, end] of residentRanges(pid)) {
        const entries = Buffer.alloc(((end - start) / PAGE) * 8)
        fs.readSync(pagemap, entries, 0, entries.length, (start / PAGE) * 8)
        for (let offset = 0; offset < entries.length; offset += 8) {
          const entry = entries.readBigUInt64LE(offset)
          if ((entry & PRESENT) === 0n) continue
          const frame = entry & FRAME_MASK
          if (frame === 0n) return undefined
          frames.add(frame)
        }
      }
    } finally {
      fs.closeSync(pagemap)
    }
  }
  return (frames.size * PAGE) / (1024 * 1024)
}
