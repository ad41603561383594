import { type ApiError, apiError } from "./ErrorEnvelope.js"

/** Any tagged failure of the gateway → the status, type and message a client should see. */
export const toApiError = (error: { readonly _tag: string } & Record<string, unknown>): ApiError => {
  // biome-ignore lint/suspicious/noExplicitAny: each case reads the fields its error class declares
  const e = error as Record<string, any>
  switch (error._tag) {
    case "InvalidRequest":
      return apiError(400, e.message, { code: e.code ?? null, param: e.param ?? null })
    case "RequestTooLarge":
      return apiError(413, e.message, { code: "request_too_large" })
    case "UploadUnavailable":
      return apiError(503, "The upload could not be kept for sending; retry later", {
        code: "upload_unavailable",
        retryAfterMs: 1000,
      })
    case "AuthError":
      return apiError(e.status, e.message, { code: e.status === 401 ? "invalid_api_key" : "forbidden" })
    case "StoreUnavailable":
      return apiError(503, e.message, { code: "store_unavailable", retryAfterMs: 1000 })
    case "RateLimited":
      return apiError(429, e.message, { code: "rate_limit_exceeded", retryAfterMs: e.retryAfterMs })
    case "BudgetExceeded":
      return apiError(429, e.message, {
        type: "budget_exceeded",
        code: "budget_exceeded",
        reason: "BUDGET_EXCEEDED",
        retryAfterMs: e.retryAfterMs,
        // Waiting seconds will not help: the SDKs that honour x-should-retry do not retry it.
        retryable: false,
        details: {
          budget: e.budget,
          period: e.period,
          limit_usd: e.limitUsd,
          used_usd: e.usedUsd,
          resets_at: e.resetsAt,
        },
      })
    case "ModelNotFound":
      return apiError(404, e.message, { code: "model_not_found", param: "model" })
    case "UnknownProvider":
      return apiError(404, e.message, { code: "provider_not_found", param: "model" })
    case "ModelNotSupported":
      return apiError(
        404,
        `The model '${e.model}' is not available for ${e.endpoint}: none of its providers serves that endpoint`,
        {
          code: "model_not_supported",
          param: "model",
        },
      )
    case "LogicalModelDisabled":
      return apiError(404, `The model '${e.logicalModel}' is disabled`, { code: "model_not_found", param: "model" })
    case "NoUpstreams":
      return apiError(503, `No upstreams available for model '${e.logicalModel}'`, { code: "no_upstreams" })
    case "ProviderNotAllowed":
      return apiError(403, `This API key may not use any provider that serves '${e.model}'`, {
        code: "provider_not_allowed",
        details: { allowed_provider_ids: e.allowedProviderIds, candidate_provider_ids: e.candidateProviderIds },
      })
    case "UpstreamStatusError":
      return apiError(e.status, e.message, {
        ...(e.errorType ? { type: e.errorType } : {}),
        code: e.errorCode ?? null,
        param: e.errorParam ?? null,
        retryAfterMs: e.retryAfterMs,
        attempts: e.failedAttempts,
      })
    case "UpstreamTransportError":
      return e.reason === "headers_timeout" || e.reason === "first_token_timeout" || e.reason === "idle_timeout"
        ? apiError(504, `Upstream timed out: ${e.message}`, { code: "upstream_timeout", attempts: e.failedAttempts })
        : apiError(502, `Upstream failed: ${e.message}`, { code: "upstream_error", attempts: e.failedAttempts })
    case "UpstreamsCoolingDown":
      return apiError(503, `Every upstream of model '${e.model}' is cooling down after failures; retry later`, {
        code: "upstreams_unavailable",
        retryAfterMs: e.retryAfterMs ?? 1000,
      })
    case "UpstreamCapacityExhausted":
      return apiError(
        429,
        `Every upstream key of model '${e.model}' is at its request-rate limit (max_qps); retry shortly`,
        {
          type: "rate_limit_error",
          code: "upstream_capacity_exhausted",
          retryAfterMs: e.retryAfterMs,
        },
      )
    case "AllUpstreamsFailed":
      return apiError(
        502,
        `All upstream providers failed for model '${e.model}' after ${e.attempts} attempt(s): ${e.lastError}`,
        {
          code: "all_upstreams_failed",
          retryAfterMs: e.retryAfterMs,
          attempts: e.failedAttempts,
        },
      )
    case "ResponseNotFound":
      return apiError(404, `Response with id '${e.id}' not found.`, { code: "response_not_found" })
    case "RouteNotFound":
      return apiError(404, "Unknown endpoint", { code: "not_found" })
    default:
      return apiError(500, "Internal gateway error", { code: "internal_error" })
  }
}
