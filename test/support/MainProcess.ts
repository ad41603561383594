import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")
const tsx = path.join(root, "node_modules/.bin/tsx")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const spawnMain = (args: ReadonlyArray<string>, env: Record<string, string | undefined>): ChildProcessWithoutNullStreams =>
  spawn(tsx, ["src/main.ts", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "WARNING", ...env } as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
  })

/** Runs the real entry point (`src/main.ts`, with `args`) in the given environment until it exits. */
export const runMain = (env: Record<string, string | undefined>, options: { readonly args?: ReadonlyArray<string>; readonly timeoutMs?: number } = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawnMain(options.args ?? [], env)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`main did not exit within ${options.timeoutMs ?? 30_000} ms:\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

export interface RunningMain {
  readonly url: string
  readonly output: () => Run
  /** SIGTERM, then the exit code. */
  readonly stop: () => Promise<number | null>
}

/** Starts the real entry point and waits for its listen line (LOG_LEVEL INFO); fails when it exits first. */
export const startMain = (env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<RunningMain> =>
  new Promise((resolve, reject) => {
    const child = spawnMain([], { LOG_LEVEL: "INFO", ...env })
    let stdout = ""
    let stderr = ""
    let code: number | null = null
    const exited = new Promise<number | null>((done) => child.on("exit", (c) => done((code = c))))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no listen line within ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => {
      stderr += d
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolve({
          url: `http://127.0.0.1:${match[1]}`,
          output: () => ({ code, stdout, stderr }),
          stop: () => {
            child.kill("SIGTERM")
            return exited
          },
        })
      }
    })
    void exited.then((c) => {
      clearTimeout(timer)
      reject(new Error(`main exited (${c}) before listening:\n${stderr}`))
    })
  })
