import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { endpointOf, generationRouteOf } from "../../../src/http/Generation.js"
import {
  attemptOutcomeLabel,
  capLength,
  genAiSystemOf,
  knownModelsOf,
  MAX_LABEL_LENGTH,
  makeModelLabels,
  providerLabel,
} from "../../../src/metrics/MetricLabels.js"
import { makeLiveMetrics } from "../../../src/metrics/Metrics.js"
import type { LogicalModel, RegistrySnapshot } from "../../../src/registry/Provider.js"
import { UpstreamStatusError, UpstreamTransportError } from "../../../src/shared/UpstreamFailure.js"
import { parseExposition } from "../../support/PrometheusText.js"
import { makeProvider, makeSnapshot } from "../routing/fixtures.js"

/**
 * Label values are bounded (issue 15 item 4): a model name is client input and goes into a label
 * as itself only when the gateway knows it; every value is cut to a bounded length; the number of
 * series stays bounded whatever clients send.
 */

const fast: LogicalModel = {
  id: "fast",
  description: null,
  enabled: true,
  strategy: "balanced",
  policy: {},
  upstreams: [{ provider: "acme", model: "acme-large", weight: 1, priority: 0 }],
}
const snapshot = makeSnapshot(
  [
    makeProvider("acme", { models: ["acme-small"], aliases: { small: "acme-small" } }),
    makeProvider("discovers", { models: null, protocol: "anthropic" }),
  ],
  [fast],
)

/** Any string a client might send as a model: short, long, odd characters, label syntax. */
const anyModel = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.fullUnicodeString({ maxLength: 300 }),
  fc.constantFrom("fast", "acme-small", "small", "acme/small", "acme/acme-small", 'x"}\n# TYPE', "other", "none"),
)

describe("model labels", () => {
  it("the registry's names: logical models, listed models and aliases, also as provider/model", () => {
    const known = knownModelsOf(snapshot)
    for (const name of ["fast", "acme-large", "acme-small", "small", "acme/acme-small", "acme/small"])
      expect(known.has(name)).toBe(true)
    expect(known.has("discovers/anything")).toBe(false)
  })

  it("a known name is itself, an unknown one `other`, no name `none`", () => {
    const labels = makeModelLabels(() => snapshot, 10)
    expect(labels.label("fast")).toBe("fast")
    expect(labels.label("acme/small")).toBe("acme/small")
    expect(labels.label("gpt-made-up")).toBe("other")
    expect(labels.label(undefined)).toBe("none")
  })

  it("a name that got an answer is learned, up to the cap; a new snapshot's names are known at once", () => {
    let current: RegistrySnapshot = snapshot
    const labels = makeModelLabels(() => current, 2)
    labels.learn("claude-discovered-1")
    labels.learn("claude-discovered-2")
    labels.learn("claude-discovered-3")
    expect(labels.label("claude-discovered-1")).toBe("claude-discovered-1")
    expect(labels.label("claude-discovered-2")).toBe("claude-discovered-2")
    expect(labels.label("claude-discovered-3")).toBe("other")
    // Known names take no room among the learned ones.
    labels.learn("fast")
    current = makeSnapshot([makeProvider("acme", { models: ["acme-new"] })])
    expect(labels.label("acme-new")).toBe("acme-new")
    expect(labels.label("fast")).toBe("other")
  })

  it("whatever clients send, the labels are at most the known names, the learned cap and two more, none longer than the limit", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyModel, fc.boolean()), { maxLength: 200 }), (sent) => {
        const labels = makeModelLabels(() => snapshot, 5)
        const seen = new Set<string>()
        for (const [model, answered] of sent) {
          if (answered) labels.learn(model)
          const label = labels.label(model)
          expect(label.length).toBeLessThanOrEqual(MAX_LABEL_LENGTH)
          seen.add(label)
        }
        expect(seen.size).toBeLessThanOrEqual(knownModelsOf(snapshot).size + 5 + 2)
      }),
    )
  })

  it("a long known name is cut to the limit", () => {
    const long = "m".repeat(300)
    const labels = makeModelLabels(() => makeSnapshot([makeProvider("p", { models: [long] })]), 0)
    expect(labels.label(long)).toBe(capLength(long))
    expect(labels.label(long)).toHaveLength(MAX_LABEL_LENGTH)
  })
})

describe("provider, system and outcome labels", () => {
  it("a provider is one of the registry's, else `other`", () => {
    expect(providerLabel(snapshot, "acme")).toBe("acme")
    expect(providerLabel(snapshot, "evil\nprovider")).toBe("other")
    expect(providerLabel(snapshot, undefined)).toBe("none")
  })

  it("gen_ai_system is the upstream's API family", () => {
    expect([
      genAiSystemOf("openai"),
      genAiSystemOf("anthropic"),
      genAiSystemOf("gemini"),
      genAiSystemOf(undefined),
    ]).toEqual(["openai", "anthropic", "gcp.gemini", "_OTHER"])
  })

  it("an attempt's outcome from its failure", () => {
    const status = (status: number) => new UpstreamStatusError({ provider: "p", model: "m", status, message: "" })
    const transport = (reason: UpstreamTransportError["reason"]) =>
      new UpstreamTransportError({ provider: "p", model: "m", reason, message: "" })
    expect(attemptOutcomeLabel(undefined)).toBe("success")
    expect([429, 401, 403, 400, 404, 500, 503, 302].map((s) => attemptOutcomeLabel(status(s)))).toEqual([
      "rate_limited",
      "auth_error",
      "auth_error",
      "client_error",
      "client_error",
      "server_error",
      "server_error",
      "http_error",
    ])
    expect(
      (
        [
          "connect",
          "reset",
          "truncated",
          "headers_timeout",
          "first_token_timeout",
          "idle_timeout",
          "malformed",
        ] as const
      ).map((r) => attemptOutcomeLabel(transport(r))),
    ).toEqual(["connect_error", "reset", "reset", "timeout", "timeout", "timeout", "malformed"])
  })
})

describe("endpoint labels", () => {
  it("every generation route gets one of a fixed set of templates, never the raw path", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(
            "/v1/chat/completions",
            "/chat/completions",
            "/v1/responses",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/embeddings",
            "/v1/completions",
          ),
          fc
            .tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }))
            .map(([model, method]) => `/v1beta/models/${model}:${method}`),
          fc.string({ maxLength: 60 }).map((tail) => `/v1beta/models/${tail}`),
        ),
        (path) => {
          const route = generationRouteOf("POST", path)
          if (route === undefined) return
          const label = endpointOf(route, path)
          expect(label.length).toBeLessThanOrEqual(64)
          seen.add(label)
        },
      ),
      { numRuns: 2_000 },
    )
    expect(seen.size).toBeLessThanOrEqual(16)
    expect(seen.has("/v1/chat/completions")).toBe(true)
    expect(
      endpointOf(
        generationRouteOf("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent")!,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
      ),
    ).toBe("/v1beta/models/*:streamGenerateContent")
  })
})

describe("the metrics of one instance", () => {
  const sources = {
    snapshot: () => snapshot,
    circuits: () => Promise.resolve(new Map()),
    kv: () => ({ outages: 2, down: 0 }),
    requestLog: () => ({ buffered: 4, written: 120, dropped: 3, bodiesDropped: 6 }),
    budgets: () => ({ refusals: 5, softOverruns: 1 }),
  }
  const request = (model: string | undefined, status: number) => ({
    endpoint: "/v1/chat/completions",
    dialect: "openai-chat",
    operation: "chat",
    model,
    provider: status < 400 ? "acme" : undefined,
    servedModel: status < 400 ? "acme-small" : undefined,
    status,
    durationMs: 12,
    firstTokenMs: undefined,
    streamed: false,
  })

  it("two instances in one process keep their own counts", async () => {
    const one = makeLiveMetrics("open", sources)
    const two = makeLiveMetrics("open", sources)
    one.requestStarted()
    one.observeRequest(request("fast", 200))
    one.addCost({ provider: "acme", model: "acme-small", usd: 0.25 })
    const first = parseExposition(await one.scrape())
    const second = parseExposition(await two.scrape())
    expect(first.sum("apiproxy_requests_total")).toBe(1)
    expect(second.sum("apiproxy_requests_total")).toBe(0)
    expect(first.value("apiproxy_cost_usd_total", { provider: "acme", model: "acme-small" })).toBe(0.25)
    expect(second.value("apiproxy_cost_usd_total", { provider: "acme", model: "acme-small" })).toBeUndefined()
    // The shared store's, the request log's and the budgets' state come from their sources on each scrape.
    expect(first.value("apiproxy_kv_primary_outages_total")).toBe(2)
    expect(first.value("apiproxy_kv_primary_down")).toBe(0)
    expect(first.value("apiproxy_request_log_dropped_total")).toBe(3)
    expect(first.value("apiproxy_request_log_written_total")).toBe(120)
    expect(first.value("apiproxy_request_log_buffered_rows")).toBe(4)
    expect(first.value("apiproxy_request_log_bodies_dropped_total")).toBe(6)
    expect(first.value("apiproxy_budget_refusals_total")).toBe(5)
    expect(first.value("apiproxy_budget_soft_limit_exceeded_total")).toBe(1)
  })

  it("ignores a cost that is no amount", async () => {
    const metrics = makeLiveMetrics("open", sources)
    for (const usd of [-1, 0, Number.NaN, Number.POSITIVE_INFINITY])
      metrics.addCost({ provider: "acme", model: "acme-small", usd })
    const m = parseExposition(await metrics.scrape())
    expect(m.sum("apiproxy_cost_usd_total")).toBe(0)
  })

  it("thousands of invented model names open no series of their own, and the exposition still parses", async () => {
    const metrics = makeLiveMetrics("open", sources)
    for (let i = 0; i < 5_000; i++) {
      metrics.requestStarted()
      metrics.observeRequest(request(`invented-${i}-"}\n`, 404))
    }
    const m = parseExposition(await metrics.scrape())
    const series = m.samples.filter((s) => s.name === "apiproxy_requests_total")
    expect(series).toHaveLength(1)
    expect(series[0]!.labels.model).toBe("other")
    expect(series[0]!.value).toBe(5_000)
    expect(m.value("apiproxy_requests_in_flight")).toBe(0)
  })
})
