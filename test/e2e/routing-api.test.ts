import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * The routing management endpoints on the real server: logical models CRUD (PostgreSQL, registry
 * reloaded on every change), POST /routing/decide (a dry run that explains the plan), session
 * bindings, provider metrics and an active health probe.
 */
describe("routing management API", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let userKey: string

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    token = gateway.masterKey,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text), headers: response.headers }
  }

  const chat = (model: string, session?: string) =>
    call(
      "POST",
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content: "hi" }] },
      gateway.masterKey,
      session ? { "x-session-id": session } : {},
    )

  beforeAll(async () => {
    primary = await startMockProvider({ models: ["gpt-4o-mini"] })
    backup = await startMockProvider({ models: ["gpt-4o-mini", "other-model"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_COOLDOWN: "30 seconds", UPSTREAM_DISCOVERY_TIMEOUT: "1 second" },
      gatewayFile: {
        providers: [
          {
            id: "p-main",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-main" }],
            models: ["gpt-4o-mini"],
          },
          {
            id: "p-fb",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-fb" }],
            models: ["gpt-4o-mini", "other-model"],
          },
          {
            id: "p-down",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-down" }],
            models: ["down-model"],
          },
          {
            id: "p-idle",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-idle" }],
            models: ["idle-model"],
          },
        ],
        logical_models: [
          {
            id: "fast",
            upstreams: [
              { provider: "p-main", model: "gpt-4o-mini", priority: 0 },
              { provider: "p-fb", model: "gpt-4o-mini", priority: 1 },
            ],
          },
          {
            id: "twin",
            upstreams: [
              { provider: "p-main", model: "gpt-4o-mini" },
              { provider: "p-fb", model: "gpt-4o-mini" },
            ],
          },
          {
            id: "breaks",
            upstreams: [
              { provider: "p-down", model: "down-model", priority: 0 },
              { provider: "p-fb", model: "other-model", priority: 1 },
            ],
          },
        ],
      },
    })
    const user = await call("POST", "/users", {
      username: "carol",
      email: "carol@example.com",
      password: "carol-password-1",
    })
    userKey = (await call("POST", `/users/${user.body.id}/api-keys`, { name: "carol" })).body.token
  })

  afterAll(async () => {
    await gateway?.close()
    await primary?.close()
    await backup?.close()
  })

  beforeEach(() => {
    primary.reset()
    backup.reset()
  })

  describe("logical models", () => {
    it("create, read, replace and delete; the data plane follows every change at once", async () => {
      const created = await call("POST", "/logical-models", {
        id: "api-model",
        name: "API model",
        upstreams: [{ provider: "p-fb", model: "other-model" }],
      })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({
        id: "api-model",
        name: "API model",
        enabled: true,
        strategy: "balanced",
        upstreams: [{ provider: "p-fb", model: "other-model", weight: 1, priority: 0 }],
      })
      const served = await chat("api-model")
      expect(served.status).toBe(200)
      expect(served.headers.get("x-apiproxy-provider")).toBe("p-fb")
      expect(backup.received[0]!.body).toMatchObject({ model: "other-model" })

      const list = await call("GET", "/logical-models")
      expect(list.status).toBe(200)
      expect(list.body.models.map((m: { id: string }) => m.id)).toEqual(["api-model", "breaks", "fast", "twin"])
      expect(list.body.total).toBe(4)
      expect((await call("GET", "/logical-models/api-model")).body).toEqual(created.body)

      const replaced = await call("PUT", "/logical-models/api-model", {
        strategy: "latency_first",
        upstreams: [
          { provider: "p-main", model: "gpt-4o-mini", priority: 0 },
          { provider: "p-fb", model: "gpt-4o-mini", weight: 2, priority: 1 },
        ],
      })
      expect(replaced.status).toBe(200)
      expect(replaced.body).toMatchObject({ name: null, strategy: "latency_first" })
      expect(replaced.body.upstreams).toHaveLength(2)
      expect((await chat("api-model")).headers.get("x-apiproxy-provider")).toBe("p-main")

      const upstreams = await call("GET", "/logical-models/api-model/upstreams")
      expect(upstreams.body).toEqual({
        logical_model: "api-model",
        upstreams: [
          {
            provider: "p-main",
            model: "gpt-4o-mini",
            weight: 1,
            priority: 0,
            provider_enabled: true,
            circuit: "closed",
          },
          { provider: "p-fb", model: "gpt-4o-mini", weight: 2, priority: 1, provider_enabled: true, circuit: "closed" },
        ],
      })

      const disabled = await call("PUT", "/logical-models/api-model", {
        enabled: false,
        upstreams: [{ provider: "p-main", model: "gpt-4o-mini" }],
      })
      expect(disabled.body.enabled).toBe(false)
      expect((await chat("api-model")).status).toBe(404)

      expect((await call("DELETE", "/logical-models/api-model")).status).toBe(204)
      expect((await call("GET", "/logical-models/api-model")).status).toBe(404)
      expect((await call("DELETE", "/logical-models/api-model")).status).toBe(404)
      const gone = await chat("api-model")
      expect(gone.status).toBe(404)
      expect(gone.body.error.code).toBe("model_not_found")
    })

    it("refuses duplicates, unknown providers and invalid bodies", async () => {
      const duplicate = await call("POST", "/logical-models", {
        id: "fast",
        upstreams: [{ provider: "p-main", model: "x" }],
      })
      expect(duplicate.status).toBe(409)
      expect(duplicate.body._tag).toBe("Conflict")

      const unknown = await call("POST", "/logical-models", {
        id: "ghost",
        upstreams: [
          { provider: "nope", model: "x" },
          { provider: "p-main", model: "y" },
          { provider: "also-nope", model: "z" },
        ],
      })
      expect(unknown.status).toBe(400)
      expect(unknown.body.details.missing_provider_ids).toEqual(["also-nope", "nope"])
      expect((await call("GET", "/logical-models/ghost")).status).toBe(404)

      expect((await call("POST", "/logical-models", { id: "empty", upstreams: [] })).status).toBe(400)
      expect(
        (await call("POST", "/logical-models", { id: "a/b", upstreams: [{ provider: "p-main", model: "x" }] })).status,
      ).toBe(400)
      const twice = await call("POST", "/logical-models", {
        id: "twice",
        upstreams: [
          { provider: "p-main", model: "x" },
          { provider: "p-main", model: "x", priority: 1 },
        ],
      })
      expect(twice.status).toBe(400)
      expect(
        (await call("PUT", "/logical-models/missing", { upstreams: [{ provider: "p-main", model: "x" }] })).status,
      ).toBe(404)
    })

    it("is for superusers only", async () => {
      expect((await call("GET", "/logical-models", undefined, userKey)).status).toBe(403)
      expect((await call("POST", "/routing/decide", { logical_model: "fast" }, userKey)).status).toBe(403)
      expect((await call("GET", "/providers/p-main/health", undefined, userKey)).status).toBe(403)
      const anonymous = await fetch(`${gateway.url}/logical-models`)
      expect(anonymous.status).toBe(401)
    })
  })

  describe("POST /routing/decide", () => {
    it("explains a real decision: the selected upstream and the ordered plan with scores, changing nothing", async () => {
      const decision = await call("POST", "/routing/decide", { logical_model: "fast", conversation_id: "conv-dry" })
      expect(decision.status).toBe(200)
      const body = decision.body
      expect(body).toMatchObject({
        logical_model: "fast",
        resolved_as: "fast",
        source: "logical",
        strategy: "balanced",
        sticky: "none",
        bound: false,
      })
      expect(body.selected_upstream).toMatchObject({
        provider: "p-main",
        model: "gpt-4o-mini",
        priority: 0,
        circuit: "closed",
        reason: "weighted_choice",
      })
      expect(body.attempts.map((a: { provider: string; reason: string }) => [a.provider, a.reason])).toEqual([
        ["p-main", "weighted_choice"],
        ["p-fb", "score_order"],
      ])
      expect(body.attempts[0].score).toMatchObject({ base_weight: 1, status: "healthy" })
      expect(typeof body.attempts[0].score.score).toBe("number")
      expect(body.reasoning).toContain("Selected provider 'p-main' model 'gpt-4o-mini'")
      expect(body.skipped).toEqual([])
      expect(body.decision_time_ms).toBeGreaterThanOrEqual(0)
      // A dry run: no upstream was called, no session was bound.
      expect(primary.received).toHaveLength(0)
      expect(backup.received).toHaveLength(0)
      expect((await call("GET", "/routing/sessions/conv-dry")).status).toBe(404)
    })

    it("binds only when asked; the binding steers the data plane and shows in the next decision", async () => {
      const first = await call("POST", "/routing/decide", {
        logical_model: "twin",
        conversation_id: "conv-bind",
        bind: true,
      })
      expect(first.body.bound).toBe(true)
      const chosen = first.body.selected_upstream.provider
      const session = await call("GET", "/routing/sessions/conv-bind")
      expect(session.status).toBe(200)
      expect(session.body).toMatchObject({
        conversation_id: "conv-bind",
        logical_model: "twin",
        provider: chosen,
        model: "gpt-4o-mini",
      })
      expect(session.body.owner).toMatch(/^master_key:/)

      for (let i = 0; i < 6; i++)
        expect((await chat("twin", "conv-bind")).headers.get("x-apiproxy-provider")).toBe(chosen)
      const again = await call("POST", "/routing/decide", { logical_model: "twin", conversation_id: "conv-bind" })
      expect(again.body.sticky).toBe("applied")
      expect(again.body.selected_upstream).toMatchObject({ provider: chosen, reason: "sticky" })
      expect(again.body.reasoning).toContain("stickiness")

      // Another owner's session of the same id is a different one.
      expect((await call("GET", "/routing/sessions/conv-bind?api_key_id=someone-else")).status).toBe(404)
      expect((await call("DELETE", "/routing/sessions/conv-bind")).status).toBe(204)
      expect((await call("GET", "/routing/sessions/conv-bind")).status).toBe(404)
      expect((await call("DELETE", "/routing/sessions/conv-bind")).status).toBe(404)
      expect((await call("POST", "/routing/decide", { logical_model: "twin", bind: true })).status).toBe(400)
    })

    it("reads a client's session by its API key id", async () => {
      const me = await call("GET", "/v1/models", undefined, userKey)
      expect(me.status).toBe(200)
      await call(
        "POST",
        "/v1/chat/completions",
        { model: "fast", messages: [{ role: "user", content: "x" }] },
        userKey,
        { "x-session-id": "carol-conv" },
      )
      const keys = await call("GET", "/users")
      const carol = keys.body.find((u: { username: string }) => u.username === "carol")
      const carolKeys = await call("GET", `/users/${carol.id}/api-keys`)
      const keyId = carolKeys.body[0].id
      const session = await call("GET", `/routing/sessions/carol-conv?api_key_id=${keyId}`)
      expect(session.status).toBe(200)
      expect(session.body).toMatchObject({ owner: `key:${keyId}`, provider: "p-main", logical_model: "fast" })
      // The superuser's own session of that id does not exist.
      expect((await call("GET", "/routing/sessions/carol-conv")).status).toBe(404)
    })

    it("shows circuits, exclusions and errors", async () => {
      primary.setDefault({ status: 503 })
      // Three failed requests (a request's own retries count once) open the upstream's circuit.
      for (let i = 0; i < 3; i++) {
        const served = await chat("breaks")
        expect(served.headers.get("x-apiproxy-provider")).toBe("p-fb")
      }
      primary.setDefault(undefined)

      const decision = await call("POST", "/routing/decide", { logical_model: "breaks" })
      expect(decision.body.selected_upstream).toMatchObject({
        provider: "p-fb",
        model: "other-model",
        reason: "weighted_choice",
      })
      expect(decision.body.skipped).toHaveLength(1)
      expect(decision.body.skipped[0]).toMatchObject({ provider: "p-down", reason: "circuit_open" })
      expect(decision.body.skipped[0].retry_after_ms).toBeGreaterThan(0)

      const upstreams = await call("GET", "/logical-models/breaks/upstreams")
      expect(upstreams.body.upstreams[0]).toMatchObject({ provider: "p-down", circuit: "open" })

      const metrics = await call("GET", "/providers/p-down/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.body.circuit.status).toBe("open")
      expect(metrics.body.status).toBe("down")
      expect(metrics.body.metrics).toHaveLength(1)
      expect(metrics.body.metrics[0]).toMatchObject({ model: "down-model" })
      expect(metrics.body.metrics[0].samples).toBeGreaterThan(0)
      expect(metrics.body.metrics[0].error_ewma).toBeGreaterThan(0.5)
      const fbMetrics = await call("GET", "/providers/p-fb/metrics?model=other-model")
      expect(fbMetrics.body.metrics[0]).toMatchObject({ model: "other-model", error_ewma: 0 })
      expect(fbMetrics.body.metrics[0].latency_ewma_ms).toBeGreaterThanOrEqual(0)

      const excluded = await call("POST", "/routing/decide", { logical_model: "fast", exclude_providers: ["p-main"] })
      expect(excluded.body.attempts.map((a: { provider: string }) => a.provider)).toEqual(["p-fb"])
      expect(
        (await call("POST", "/routing/decide", { logical_model: "fast", exclude_providers: ["p-main", "p-fb"] }))
          .status,
      ).toBe(503)

      const discovered = await call("POST", "/routing/decide", { logical_model: "other-model" })
      expect(discovered.body).toMatchObject({ source: "discovery", selected_upstream: { provider: "p-fb" } })
      expect((await call("POST", "/routing/decide", { logical_model: "no-such-model" })).status).toBe(404)
      expect((await call("GET", "/providers/nope/metrics")).status).toBe(404)
    })
  })

  describe("GET /providers/{id}/health", () => {
    it("a provider neither used nor probed is unknown (never healthy by default); a probe, then traffic, make it known", async () => {
      const decision = await call("POST", "/routing/decide", { logical_model: "p-idle/idle-model" })
      expect(decision.body.selected_upstream.score).toMatchObject({ status: "unknown", confidence: 0 })
      const before = await call("GET", "/providers/p-idle/metrics")
      expect(before.body).toMatchObject({
        provider_id: "p-idle",
        status: "unknown",
        circuit: { status: "closed" },
        metrics: [],
      })

      expect((await call("GET", "/providers/p-idle/health")).body).toMatchObject({ status: "healthy" })
      expect((await call("GET", "/providers/p-idle/metrics")).body.status).toBe("healthy")

      expect((await chat("p-idle/idle-model")).status).toBe(200)
      // The answer's metrics are written after it (in the background): read until they are there.
      let used = await call("POST", "/routing/decide", { logical_model: "p-idle/idle-model" })
      for (let i = 0; i < 50 && used.body.selected_upstream.score.confidence === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        used = await call("POST", "/routing/decide", { logical_model: "p-idle/idle-model" })
      }
      expect(used.body.selected_upstream.score.status).toBe("healthy")
      expect(used.body.selected_upstream.score.confidence).toBeGreaterThan(0)
    })

    it("probes the models path: healthy, degraded on 4xx, down on 5xx", async () => {
      const healthy = await call("GET", "/providers/p-fb/health")
      expect(healthy.status).toBe(200)
      expect(healthy.body).toMatchObject({
        provider_id: "p-fb",
        status: "healthy",
        http_status: 200,
        error_message: null,
      })
      expect(healthy.body.last_successful_check).not.toBeNull()
      expect(backup.received[0]).toMatchObject({ method: "GET", path: "/v1/models" })
      expect(backup.received[0]!.headers["authorization"]).toBe("Bearer sk-fb")

      primary.script({ status: 404 })
      const degraded = await call("GET", "/providers/p-main/health")
      expect(degraded.body).toMatchObject({ status: "degraded", http_status: 404 })
      expect(degraded.body.last_successful_check).toBeNull()

      primary.script({ status: 502 })
      expect((await call("GET", "/providers/p-main/health")).body).toMatchObject({ status: "down", http_status: 502 })

      primary.script({ hang: true })
      const hung = await call("GET", "/providers/p-main/health")
      expect(hung.body).toMatchObject({ status: "down", http_status: null })
      expect(hung.body.response_time_ms).toBeLessThan(3_000)

      expect((await call("GET", "/providers/nope/health")).status).toBe(404)
    })
  })

  it("documents the new endpoints in the OpenAPI document", async () => {
    const spec = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    for (const path of [
      "/logical-models",
      "/logical-models/{id}",
      "/logical-models/{id}/upstreams",
      "/routing/decide",
      "/routing/sessions/{conversation_id}",
      "/providers/{id}/metrics",
      "/providers/{id}/health",
    ]) {
      expect(spec.paths[path], path).toBeDefined()
    }
  })
})
