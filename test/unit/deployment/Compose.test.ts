import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const root = path.resolve(import.meta.dirname, "../../..")

/** No Docker engine runs here, so the compose file is checked for what `docker compose up` relies on. */
describe("docker-compose.yml", () => {
  const compose = parse(fs.readFileSync(path.join(root, "docker-compose.yml"), "utf8"), { merge: true }) as {
    services: Record<
      string,
      {
        image?: string
        build?: unknown
        healthcheck?: { test: unknown }
        depends_on?: Record<string, { condition: string }>
        environment?: Record<string, string>
        volumes?: Array<string>
        profiles?: Array<string>
      }
    >
    volumes: Record<string, unknown>
  }

  it("runs the gateway with postgres:16 and redis:7, each health-checked; the demo and the replicas only in their profiles", () => {
    const inProfile = (profile: string | undefined) =>
      Object.entries(compose.services)
        .filter(([, service]) =>
          profile === undefined ? service.profiles === undefined : service.profiles?.includes(profile),
        )
        .map(([name]) => name)
        .sort()
    expect(inProfile(undefined)).toEqual(["gateway", "postgres", "redis"])
    expect(inProfile("demo")).toEqual(["demo"])
    expect(inProfile("replicas")).toEqual(["gateway-1", "gateway-2", "lb"])
    expect(compose.services.postgres!.image).toBe("postgres:16")
    expect(compose.services.redis!.image).toBe("redis:7")
    expect(compose.services.postgres!.healthcheck?.test).toBeDefined()
    expect(compose.services.redis!.healthcheck?.test).toBeDefined()
  })

  it("makes the gateway wait for healthy services and point at them", () => {
    const gateway = compose.services.gateway!
    expect(gateway.build).toBeDefined()
    expect(gateway.depends_on).toEqual({
      postgres: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
    })
    expect(gateway.environment!.DATABASE_URL).toContain("@postgres:5432/")
    expect(gateway.environment!.REDIS_URL).toBe("redis://redis:6379/0")
    expect(gateway.environment!.NODE_ENV).toBe("production")
  })

  it("keeps data in named volumes", () => {
    expect(compose.services.postgres!.volumes).toContain("postgres-data:/var/lib/postgresql/data")
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(["postgres-data", "redis-data"]))
  })

  it("has a multi-stage Dockerfile that runs the compiled gateway as a non-root user", () => {
    const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8")
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2)
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toContain('CMD ["node", "dist/gateway/main.js"]')
  })
})
