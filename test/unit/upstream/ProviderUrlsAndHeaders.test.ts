import { Option } from "effect"
import { describe, expect, it } from "vitest"
import { effectiveBaseUrl, isOfficialHost } from "../../../src/registry/Provider.js"
import { upstreamHeaders } from "../../../src/upstream/UpstreamHeaders.js"
import { makeKey, makeProvider } from "../routing/fixtures.js"

const mask = {
  asBrowser: true,
  userAgent: "Mozilla/5.0 test",
  origin: Option.some("https://app.example"),
  referer: Option.none(),
}

describe("the browser mask (MASK_AS_BROWSER)", () => {
  it("is sent to an aggregator but never to a vendor's official API host", () => {
    const aggregator = makeProvider("router", { baseUrl: "https://openrouter.example/api" })
    const official = makeProvider("openai", { baseUrl: "https://api.openai.com", officialHost: true })
    const headers = (provider: typeof aggregator) =>
      upstreamHeaders(provider, makeKey("k"), mask, { stream: false, masked: true })
    expect(headers(aggregator)).toMatchObject({ "user-agent": "Mozilla/5.0 test", origin: "https://app.example" })
    expect(headers(official)["user-agent"]).toBeUndefined()
    expect(headers(official).origin).toBeUndefined()
    expect(headers(official).authorization).toBe("Bearer sk-k")
  })

  it.each([
    ["https://api.openai.com", true],
    ["https://api.openai.com/v1", true],
    ["https://api.anthropic.com/", true],
    ["https://generativelanguage.googleapis.com", true],
    ["https://API.OPENAI.COM", true],
    ["https://api.openai.com.evil.example", false],
    ["https://evil.example/api.openai.com", false],
    ["http://127.0.0.1:9999", false],
    ["not a url", false],
  ])("isOfficialHost(%s) is %s", (url, official) => {
    expect(isOfficialHost(url)).toBe(official)
  })
})

describe("effectiveBaseUrl: a base URL given with the API version is not doubled", () => {
  it.each([
    ["openai", "https://api.openai.com/v1", false, "https://api.openai.com"],
    ["openai", "https://api.openai.com/v1/", false, "https://api.openai.com"],
    ["openai", "https://openrouter.example/api/v1", false, "https://openrouter.example/api"],
    ["openai", "https://api.openai.com", false, "https://api.openai.com"],
    ["openai", "https://host.example/v10", false, "https://host.example/v10"],
    ["openai", "https://host.example/v1", true, "https://host.example/v1"],
    ["anthropic", "https://api.anthropic.com/v1", false, "https://api.anthropic.com"],
    ["gemini", "https://generativelanguage.googleapis.com/v1beta", false, "https://generativelanguage.googleapis.com"],
    ["gemini", "https://generativelanguage.googleapis.com/v1", false, "https://generativelanguage.googleapis.com/v1"],
  ] as const)("%s %s (own paths: %s) → %s", (protocol, baseUrl, ownPaths, expected) => {
    expect(effectiveBaseUrl(protocol, baseUrl, ownPaths)).toBe(expected)
  })
})
