import { afterAll, beforeAll, beforeEach } from "vitest"
import { type MockProvider, type MockProviderOptions, startMockProvider } from "../../src/mock/MockProvider.js"
import { sdkClients } from "./ProtocolProviders.js"
import type { TestEnv } from "./TestConfig.js"
import { startTestGateway, type TestGateway } from "./TestGateway.js"

export interface MockGateway extends ReturnType<typeof sdkClients> {
  readonly mock: MockProvider
  readonly gateway: TestGateway
}

/**
 * A describe block's gateway in front of one mock provider: both started before its tests (the
 * providers file built from the mock's URL), the mock's record and script reset before each test,
 * both closed after. The returned object is filled in by `beforeAll`: read its fields in tests.
 */
export const useMockGateway = (options: {
  readonly mock?: MockProviderOptions
  readonly env?: TestEnv
  readonly gatewayFile: (mockUrl: string) => unknown
}): MockGateway => {
  const context = {} as { -readonly [K in keyof MockGateway]: MockGateway[K] }
  beforeAll(async () => {
    context.mock = await startMockProvider(options.mock)
    context.gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000", ...options.env },
      gatewayFile: options.gatewayFile(context.mock.url),
    })
    Object.assign(context, sdkClients(context.gateway.url, context.gateway.masterKey))
  })
  afterAll(async () => {
    await context.gateway?.close()
    await context.mock?.close()
  })
  beforeEach(() => context.mock.reset())
  return context
}
