/** The little of autocannon's programmatic API the benchmark uses (the package ships no types). */
declare module "autocannon" {
  interface AutocannonRequest {
    readonly method?: string
    readonly path?: string
    readonly headers?: Record<string, string>
    readonly body?: string
  }
  interface AutocannonOptions {
    readonly url: string
    readonly connections?: number
    readonly pipelining?: number
    readonly duration?: number
    readonly amount?: number
    readonly method?: string
    readonly headers?: Record<string, string>
    readonly body?: string
    readonly requests?: ReadonlyArray<AutocannonRequest>
    readonly timeout?: number
  }
  interface Histogram {
    readonly average: number
    readonly mean: number
    readonly stddev: number
    readonly min: number
    readonly max: number
    readonly total: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
  }
  interface AutocannonResult {
    readonly requests: Histogram
    readonly latency: Histogram
    readonly throughput: Histogram
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly duration: number
    readonly "2xx": number
  }
  /** Without a callback: a promise of the result that can also be stopped early. */
  interface AutocannonRun extends PromiseLike<AutocannonResult> {
    stop(): void
  }
  function autocannon(options: AutocannonOptions): AutocannonRun
  export default autocannon
}
