/**
 * An in-process OTLP/HTTP trace receiver for tests: a loopback `node:http` server that takes
 * `POST /v1/traces` as the OpenTelemetry JS exporter sends it (OTLP/JSON: hex ids, typed
 * attribute values) and keeps every span, flattened, with its resource's attributes.
 *
 *   const otlp = await startOtlpReceiver()
 *   // gateway env: OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url
 *   const [server] = await otlp.waitFor((spans) => spans.filter((s) => s.kind === SERVER_KIND), 1)
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

/** OTLP's SpanKind numbers (the API's + 1). */
export const SERVER_KIND = 2
export const CLIENT_KIND = 3
/** OTLP's status codes. */
export const STATUS_ERROR = 2

export type AttributeValue = string | number | boolean | ReadonlyArray<AttributeValue> | undefined

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** `""` for a root span. */
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly startNanos: bigint
  readonly endNanos: bigint
  readonly attributes: Readonly<Record<string, AttributeValue>>
  readonly status: { readonly code: number; readonly message?: string }
  readonly resource: Readonly<Record<string, AttributeValue>>
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`: the base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly url: string
  readonly spans: Array<ReceivedSpan>
  /** The headers of every export request. */
  readonly exports: Array<IncomingHttpHeaders>
  /** Resolves with `select(spans)` once it holds at least `count` spans; rejects after `timeoutMs`. */
  waitFor(
    select: (spans: ReadonlyArray<ReceivedSpan>) => ReadonlyArray<ReceivedSpan>,
    count: number,
    timeoutMs?: number,
  ): Promise<ReadonlyArray<ReceivedSpan>>
  close(): Promise<void>
}

interface JsonValue {
  readonly stringValue?: string
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly boolValue?: boolean
  readonly arrayValue?: { readonly values?: ReadonlyArray<JsonValue> }
}
interface JsonAttribute {
  readonly key: string
  readonly value: JsonValue
}

const attributeValue = (value: JsonValue): AttributeValue => {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(attributeValue)
  return undefined
}

const attributesOf = (list: ReadonlyArray<JsonAttribute> | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]))

interface ExportRequest {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<JsonAttribute> }
    readonly scopeSpans?: ReadonlyArray<{
      readonly spans?: ReadonlyArray<{
        readonly traceId: string
        readonly spanId: string
        readonly parentSpanId?: string
        readonly name: string
        readonly kind: number
        readonly startTimeUnixNano: string | number
        readonly endTimeUnixNano: string | number
        readonly attributes?: ReadonlyArray<JsonAttribute>
        readonly status?: { readonly code?: number; readonly message?: string }
      }>
    }>
  }>
}

const flatten = (request: ExportRequest): Array<ReceivedSpan> =>
  (request.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributesOf(rs.resource?.attributes)
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind,
        startNanos: BigInt(s.startTimeUnixNano),
        endNanos: BigInt(s.endTimeUnixNano),
        attributes: attributesOf(s.attributes),
        status: {
          code: s.status?.code ?? 0,
          ...(s.status?.message === undefined ? {} : { message: s.status.message }),
        },
        resource,
      })),
    )
  })

export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const spans: Array<ReceivedSpan> = []
  const exports: Array<IncomingHttpHeaders> = []
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      if (
        request.method !== "POST" ||
        request.url !== "/v1/traces" ||
        !String(request.headers["content-type"]).startsWith("application/json")
      ) {
        response.writeHead(404).end()
        return
      }
      exports.push(request.headers)
      spans.push(...flatten(JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportRequest))
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    exports,
    waitFor: async (select, count, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = select(spans)
        if (found.length >= count) return found
        if (Date.now() > deadline)
          throw new Error(
            `expected ${count} spans, got ${found.length} of ${spans.length}: ${spans.map((s) => s.name).join(", ")}`,
          )
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
