import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenAI } from "@google/genai"
import OpenAI from "openai"

/**
 * One provider per upstream protocol, all on one mock (src/mock/MockProvider.ts), for the
 * providers file of a test gateway: `oai` (OpenAI, `gpt-4o-mini`), `claude` (Anthropic,
 * `claude-haiku-4-5`) and `gem` (Gemini, `gemini-2.5-flash`), each with its own key.
 */
export const PROTOCOL_MODELS = {
  openai: "gpt-4o-mini",
  anthropic: "claude-haiku-4-5",
  gemini: "gemini-2.5-flash",
} as const

export const protocolProviders = (mockUrl: string) => [
  { id: "oai", protocol: "openai", base_url: mockUrl, keys: [{ value: "sk-oai" }], models: [PROTOCOL_MODELS.openai] },
  {
    id: "claude",
    protocol: "anthropic",
    base_url: mockUrl,
    keys: [{ value: "sk-ant-claude" }],
    models: [PROTOCOL_MODELS.anthropic],
  },
  { id: "gem", protocol: "gemini", base_url: mockUrl, keys: [{ value: "gem-key" }], models: [PROTOCOL_MODELS.gemini] },
]

/** The three official SDKs pointed at a gateway with `apiKey`, without client retries. */
export const sdkClients = (gatewayUrl: string, apiKey: string) => ({
  openai: new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey, maxRetries: 0 }),
  anthropic: new Anthropic({ baseURL: gatewayUrl, apiKey, maxRetries: 0 }),
  gemini: new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gatewayUrl } }),
})

/** An OpenAI-protocol provider without a Responses endpoint (`chat-only`): Responses requests reach it converted to chat. */
export const chatOnlyProvider = (mockUrl: string) => ({
  id: "nores",
  protocol: "openai",
  base_url: mockUrl,
  keys: [{ value: "sk-nores" }],
  models: ["chat-only"],
  paths: { responses: null },
})

/**
 * The providers of the pass-through tests: two OpenAI-protocol ones serving `models` (`oai` on
 * `mockUrl`, `oai2` on `backupUrl`, for failover), and a Gemini and an Anthropic one on `mockUrl`,
 * which have no such endpoints (a model only they serve is no candidate).
 */
export const passThroughProviders = (mockUrl: string, backupUrl: string, models: ReadonlyArray<string>) => [
  { id: "oai", protocol: "openai", base_url: mockUrl, keys: [{ value: "sk-oai" }], models },
  { id: "oai2", protocol: "openai", base_url: backupUrl, keys: [{ value: "sk-oai2" }], models },
  { id: "gem", protocol: "gemini", base_url: mockUrl, keys: [{ value: "gem-key" }], models: ["gemini-2.5-flash"] },
  { id: "claude", protocol: "anthropic", base_url: mockUrl, keys: [{ value: "sk-ant" }], models: ["claude-haiku-4-5"] },
]
