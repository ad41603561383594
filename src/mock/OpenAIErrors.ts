/** OpenAI-shaped error bodies (`{"error": {message, type, param, code}}`) for a status. */
export const openAIErrorBody = (status: number, message?: string) => {
  const [type, code, defaultMessage] =
    status === 400
      ? ["invalid_request_error", null, "Invalid request."]
      : status === 401
        ? ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."]
        : status === 403
          ? ["invalid_request_error", "unsupported_country_region_territory", "Forbidden."]
          : status === 404
            ? ["invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."]
            : status === 429
              ? ["requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."]
              : status === 503
                ? ["service_unavailable", null, "The server is overloaded or not ready yet."]
                : ["server_error", null, "The server had an error while processing your request."]
  return { error: { message: message ?? defaultMessage, type, param: null, code } }
}
