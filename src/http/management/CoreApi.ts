import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { CurrentPrincipal } from "../../identity/Principal.js"
import { NullableSettingsFields, OptionalNullableSettingsFields } from "../../shared/ProviderSettings.js"
import { BudgetSetting, BudgetSettingResponse } from "./BudgetSchemas.js"

/**
 * The core of the management API: system, accounts, logins, API keys and provider administration,
 * as an `HttpApi` with a Schema for every payload and error, and the errors and security middleware
 * every group shares. `ManagementApi` adds the other groups: that whole API is what
 * /openapi.json documents and /docs renders. Handlers live beside it in `http/management/`.
 *
 * Field names are snake_case on the wire, as in the rest of the gateway's JSON.
 */

// ---------------------------------------------------------------------------------------------
// Errors: JSON `{ "_tag": "...", "message": "...", "details"?: {...} }`

const errorFields = {
  message: Schema.String,
  details: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
}

export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  errorFields,
  HttpApiSchema.annotations({ status: 400 }),
) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  errorFields,
  HttpApiSchema.annotations({ status: 401 }),
) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  errorFields,
  HttpApiSchema.annotations({ status: 403 }),
) {}
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  errorFields,
  HttpApiSchema.annotations({ status: 404 }),
) {}
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  errorFields,
  HttpApiSchema.annotations({ status: 429 }),
) {}
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  errorFields,
  HttpApiSchema.annotations({ status: 409 }),
) {}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  errorFields,
  HttpApiSchema.annotations({ status: 503 }),
) {}

// ---------------------------------------------------------------------------------------------
// Authentication

const security = {
  /** A management JWT (access token), a client API key, or the master key. */
  bearer: HttpApiSecurity.bearer.pipe(
    HttpApiSecurity.annotate(OpenApi.Description, "A JWT access token from /auth/login, an API key, or the master key"),
  ),
  apiKey: HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
    HttpApiSecurity.annotate(OpenApi.Description, "An API key (or the master key)"),
  ),
}

/**
 * A caller allowed to manage accounts and keys: a login session (JWT), the master key, or a
 * superuser's API key. A non-superuser's API key is for the data plane and gets 403 here: a key
 * handed to an application must never be able to widen itself, mint keys or take over its owner.
 */
export class Authenticated extends HttpApiMiddleware.Tag<Authenticated>()("gateway/http/Authenticated", {
  failure: Schema.Union(Unauthorized, Forbidden),
  provides: CurrentPrincipal,
  security,
}) {}

/** Any authenticated caller, a non-superuser's API key included: read-only routes (/auth/me, /usage). */
export class AnyCredential extends HttpApiMiddleware.Tag<AnyCredential>()("gateway/http/AnyCredential", {
  failure: Schema.Union(Unauthorized, Forbidden),
  provides: CurrentPrincipal,
  security,
}) {}

/** A superuser: a superuser's JWT or API key, or the master key. */
export class Superuser extends HttpApiMiddleware.Tag<Superuser>()("gateway/http/Superuser", {
  failure: Schema.Union(Unauthorized, Forbidden),
  provides: CurrentPrincipal,
  security,
}) {}

// ---------------------------------------------------------------------------------------------
// Shared field schemas

const Timestamp = Schema.Date.annotations({ description: "ISO 8601 timestamp" })
/** A positive whole number that fits the Postgres `integer` columns it is stored in. */
export const INT4_MAX = 2_147_483_647
const PositiveInt = Schema.Int.pipe(
  Schema.between(1, INT4_MAX, { message: () => `expected a whole number from 1 to ${INT4_MAX}` }),
)
/** Bounded text: every string a client sends has a maximum, checked before any storage or hashing work. */
const Text = (max: number, min = 0) =>
  Schema.String.pipe(
    Schema.minLength(min, {
      message: () => (min === 1 ? "expected a non-empty string" : `expected at least ${min} characters`),
    }),
    Schema.maxLength(max, { message: () => `expected at most ${max} characters` }),
  )
const Email = Schema.String.pipe(
  Schema.maxLength(254, { message: () => "expected at most 254 characters" }),
  Schema.pattern(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: () => "expected an email address" }),
)
const Username = Schema.String.pipe(
  Schema.minLength(3, { message: () => "expected 3 to 64 of A-Z a-z 0-9 _ . -" }),
  Schema.maxLength(64, { message: () => "expected 3 to 64 of A-Z a-z 0-9 _ . -" }),
  Schema.pattern(/^[A-Za-z0-9_.-]+$/, { message: () => "expected 3 to 64 of A-Z a-z 0-9 _ . -" }),
)
const Password = Text(128, 8)
export const ProviderSlug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9._-]{0,49}$/, { message: () => "expected 1 to 50 of a-z 0-9 . _ - (lower case)" }),
)
const Message = Schema.Struct({ message: Schema.String })

/**
 * A POST of a JSON payload at a fixed path: its answer (`status: 201` for one that creates) and,
 * for /docs, what it does. Errors are the API's (`CoreApi` below): every endpoint may answer any.
 */
export const post = <const Name extends string, P extends Schema.Schema.Any, S extends Schema.Schema.Any>(
  name: Name,
  path: HttpApiEndpoint.PathSegment,
  payload: P,
  success: S,
  options: { readonly status?: number; readonly description?: string } = {},
) => {
  const endpoint = HttpApiEndpoint.post(name, path).setPayload(payload).addSuccess(success, options)
  return options.description === undefined ? endpoint : endpoint.annotate(OpenApi.Description, options.description)
}

// ---------------------------------------------------------------------------------------------
// System

export const AdminInitRequest = Schema.Struct({
  username: Schema.optionalWith(Username, { default: () => "admin" }),
  email: Schema.optionalWith(Email, { default: () => "admin@example.com" }),
  display_name: Schema.optionalWith(Text(255), { default: () => "System Administrator" }),
})

export const AdminInitResponse = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  email: Schema.String,
  password: Schema.String.annotations({ description: "Generated password, shown only in this response" }),
  api_key: Schema.String.annotations({
    description: "A never-expiring superuser API key, shown only in this response",
  }),
})

export const SecretKeyRequest = Schema.Struct({
  length: Schema.optionalWith(Schema.Int.pipe(Schema.between(32, 256)), { default: () => 64 }).annotations({
    description: "Bytes of entropy (32..256)",
  }),
})

export const SecretKeyResponse = Schema.Struct({
  secret_key: Schema.String,
  hint: Schema.String,
})

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    post("adminInit", "/system/admin/init", AdminInitRequest, AdminInitResponse, {
      status: 201,
      description:
        "Creates the first superuser, with a generated password and an API key, returned once. Works only while there is no user at all; of concurrent calls exactly one succeeds. When GATEWAY_MASTER_KEY is set, it must be sent as a Bearer token.",
    }),
  )
  .add(
    post("generateSecretKey", "/system/secret-key/generate", SecretKeyRequest, SecretKeyResponse, {
      description: "A fresh random secret for SECRET_KEY. Nothing is stored or changed.",
    }).middleware(Superuser),
  )
  .annotate(OpenApi.Title, "System") {}

// ---------------------------------------------------------------------------------------------
// Auth

export const UserResponse = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  email: Schema.String,
  display_name: Schema.NullOr(Schema.String),
  avatar: Schema.NullOr(Schema.String),
  is_active: Schema.Boolean,
  is_superuser: Schema.Boolean,
  budget: Schema.NullOr(BudgetSettingResponse).annotations({
    description:
      "The user's spend limit over all their keys (set by a superuser: PUT /users/{user_id}/budget, which also shows its use)",
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const LoginRequest = Schema.Struct({
  username: Text(254, 1).annotations({ description: "Username or email" }),
  password: Text(1024, 1),
})

export const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  refresh_token: Schema.String,
  token_type: Schema.Literal("bearer"),
  expires_in: Schema.Int.annotations({ description: "Seconds the access token is valid" }),
  refresh_expires_in: Schema.Int.annotations({ description: "Seconds the refresh token is valid" }),
})

export const CreateUserRequest = Schema.Struct({
  username: Username,
  email: Email,
  password: Password,
  display_name: Schema.optional(Schema.NullOr(Text(255))),
  avatar: Schema.optional(Schema.NullOr(Text(512))),
  is_superuser: Schema.optionalWith(Schema.Boolean, { default: () => false }),
})

/** Self-service sign-up: a user's own fields, never `is_superuser` (a stranger must not be able to register an administrator). */
export const RegisterRequest = CreateUserRequest.pipe(Schema.pick("username", "email", "password", "display_name"))

export const RefreshRequest = Schema.Struct({ refresh_token: Text(4096, 1) })

export class AuthGroup extends HttpApiGroup.make("auth")
  .add(
    post("login", "/auth/login", LoginRequest, TokenResponse, {
      description:
        "Password login: an access token (30 minutes) and a refresh token (7 days). After LOGIN_MAX_FAILURES (default 5) failed logins for one account from one address, that address waits out 15 minutes from the first failure (429, details.retry_after_seconds).",
    }),
  )
  .add(
    post("refresh", "/auth/refresh", RefreshRequest, TokenResponse, {
      description:
        "Exchanges a refresh token for a new pair. Each refresh token works once; reusing one ends the whole login.",
    }),
  )
  .add(
    post("logout", "/auth/logout", RefreshRequest, Message, {
      description: "Revokes the login the refresh token belongs to (its access tokens too).",
    }),
  )
  .add(
    HttpApiEndpoint.get("me", "/auth/me")
      .addSuccess(UserResponse)
      .middleware(AnyCredential)
      .annotate(OpenApi.Description, "The caller's account. Any API key may read it."),
  )
  .add(
    post("register", "/auth/register", RegisterRequest, UserResponse, {
      status: 201,
      description:
        "Self-service sign-up: an active, non-superuser account. Off unless the gateway runs with ALLOW_REGISTRATION=true (403 otherwise).",
    }),
  )
  .annotate(OpenApi.Title, "Auth") {}

// ---------------------------------------------------------------------------------------------
// Users

export const UpdateUserRequest = Schema.Struct({
  email: Schema.optional(Email),
  password: Schema.optional(Password),
  current_password: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024))).annotations({
    description: "Required when a login session changes its own password or email",
  }),
  display_name: Schema.optional(Schema.NullOr(Text(255))),
  avatar: Schema.optional(Schema.NullOr(Text(512))),
})

export const UserStatusRequest = Schema.Struct({ is_active: Schema.Boolean })

const userId = HttpApiSchema.param("user_id", Schema.String)

export class UsersGroup extends HttpApiGroup.make("users")
  .add(post("create", "/users", CreateUserRequest, UserResponse, { status: 201 }).middleware(Superuser))
  .add(HttpApiEndpoint.get("list", "/users").addSuccess(Schema.Array(UserResponse)).middleware(Superuser))
  .add(
    HttpApiEndpoint.get("get")`/users/${userId}`
      .addSuccess(UserResponse)
      .middleware(Authenticated)
      .annotate(OpenApi.Description, "The user itself or a superuser."),
  )
  .add(
    HttpApiEndpoint.put("update")`/users/${userId}`
      .setPayload(UpdateUserRequest)
      .addSuccess(UserResponse)
      .middleware(Authenticated)
      .annotate(
        OpenApi.Description,
        "The user itself (a login session) or a superuser. A session changing its own password or email must send current_password. A new password or email ends every login session of the user (log in again).",
      ),
  )
  .add(
    HttpApiEndpoint.put("setStatus")`/users/${userId}/status`
      .setPayload(UserStatusRequest)
      .addSuccess(UserResponse)
      .middleware(Superuser)
      .annotate(OpenApi.Description, "Deactivating a user stops their API keys and logins at once, on every instance."),
  )
  .annotate(OpenApi.Title, "Users") {}

// ---------------------------------------------------------------------------------------------
// API keys

export const Expiry = Schema.Literal("week", "month", "year", "never")

/** An exact expiry: an ISO 8601 time (with its offset, or `Z`), in the future and at most 100 years ahead. */
const ExpiresAt = Schema.Date.annotations({
  description:
    "An exact expiry instead of `expiry`: an ISO 8601 time such as 2030-01-31T17:00:00Z, in the future (at most 100 years ahead). The key shows expiry_type `date`.",
})

const AllowList = Schema.NullOr(Schema.Array(Text(64)).pipe(Schema.maxItems(1000))).annotations({
  description: "null: every provider. A list: only those providers; an empty list: no provider at all.",
})

const LogBodies = Schema.Boolean.annotations({
  description:
    "The request log (GET /logs) keeps this key's request and response bodies: redacted, at most 32 KiB each. Set by the key's owner (a login session) or a superuser; off by default.",
})

export const ApiKeyResponse = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  name: Schema.String,
  key_prefix: Schema.String.annotations({ description: "The first characters of the token, to recognise it" }),
  expiry_type: Schema.Literal(...Expiry.literals, "date").annotations({
    description: "The lifetime the key was given, or `date` for an exact expires_at",
  }),
  expires_at: Schema.NullOr(Timestamp),
  is_active: Schema.Boolean,
  has_provider_restrictions: Schema.Boolean,
  allowed_provider_ids: AllowList,
  requests_per_minute: Schema.NullOr(Schema.Int),
  tokens_per_minute: Schema.NullOr(Schema.Int),
  budget: Schema.NullOr(BudgetSettingResponse).annotations({
    description: "The key's spend limit (its use: GET …/api-keys/{key_id}/budget)",
  }),
  log_bodies: LogBodies,
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const CreatedApiKeyResponse = Schema.Struct({
  ...ApiKeyResponse.fields,
  token: Schema.String.annotations({ description: "The API key itself, shown only in this response" }),
})

export const CreateApiKeyRequest = Schema.Struct({
  name: Text(255, 1),
  expiry: Schema.optional(Expiry).annotations({ description: "A lifetime from now; default never" }),
  expires_at: Schema.optional(ExpiresAt),
  allowed_provider_ids: Schema.optional(AllowList),
  requests_per_minute: Schema.optional(Schema.NullOr(PositiveInt)),
  tokens_per_minute: Schema.optional(Schema.NullOr(PositiveInt)),
  budget: Schema.optional(Schema.NullOr(BudgetSetting)).annotations({
    description: "A spend limit for the key; null: none",
  }),
  log_bodies: Schema.optional(LogBodies),
})

export const UpdateApiKeyRequest = Schema.Struct({
  name: Schema.optional(Text(255, 1)),
  expiry: Schema.optional(Expiry).annotations({ description: "Restarts the clock from now" }),
  expires_at: Schema.optional(ExpiresAt),
  is_active: Schema.optional(Schema.Boolean),
  allowed_provider_ids: Schema.optional(AllowList),
  requests_per_minute: Schema.optional(Schema.NullOr(PositiveInt)),
  tokens_per_minute: Schema.optional(Schema.NullOr(PositiveInt)),
  budget: Schema.optional(Schema.NullOr(BudgetSetting)).annotations({
    description: "A spend limit for the key; null: none",
  }),
  log_bodies: Schema.optional(LogBodies),
})

export const AllowedProvidersRequest = Schema.Struct({ allowed_provider_ids: AllowList })
export const AllowedProvidersResponse = Schema.Struct({
  has_provider_restrictions: Schema.Boolean,
  allowed_provider_ids: AllowList,
})

const keyId = HttpApiSchema.param("key_id", Schema.String)
const allowedProviderId = HttpApiSchema.param("provider_id", Schema.String)

export class ApiKeysGroup extends HttpApiGroup.make("apiKeys")
  .add(HttpApiEndpoint.get("list")`/users/${userId}/api-keys`.addSuccess(Schema.Array(ApiKeyResponse)))
  .add(
    HttpApiEndpoint.post("create")`/users/${userId}/api-keys`
      .setPayload(CreateApiKeyRequest)
      .addSuccess(CreatedApiKeyResponse, { status: 201 })
      .annotate(
        OpenApi.Description,
        "The token is in this response only; afterwards a key is known by its key_prefix.",
      ),
  )
  .add(HttpApiEndpoint.get("get")`/users/${userId}/api-keys/${keyId}`.addSuccess(ApiKeyResponse))
  .add(
    HttpApiEndpoint.put("update")`/users/${userId}/api-keys/${keyId}`
      .setPayload(UpdateApiKeyRequest)
      .addSuccess(ApiKeyResponse),
  )
  .add(
    HttpApiEndpoint.del("delete")`/users/${userId}/api-keys/${keyId}`
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(OpenApi.Description, "Revokes the key at once on every instance."),
  )
  .add(
    HttpApiEndpoint.get("getAllowedProviders")`/users/${userId}/api-keys/${keyId}/allowed-providers`.addSuccess(
      AllowedProvidersResponse,
    ),
  )
  .add(
    HttpApiEndpoint.put("setAllowedProviders")`/users/${userId}/api-keys/${keyId}/allowed-providers`
      .setPayload(AllowedProvidersRequest)
      .addSuccess(AllowedProvidersResponse),
  )
  .add(
    HttpApiEndpoint.del(
      "removeAllowedProvider",
    )`/users/${userId}/api-keys/${keyId}/allowed-providers/${allowedProviderId}`
      .addSuccess(AllowedProvidersResponse)
      .annotate(
        OpenApi.Description,
        "Removing the last provider leaves the key restricted to no provider, never unrestricted.",
      ),
  )
  .middleware(Authenticated)
  .annotate(
    OpenApi.Description,
    "A user's own keys, from a login session; a superuser may manage anyone's. On an existing key a non-superuser may only rename it, deactivate it, turn the request log's keeping of its bodies (log_bodies) on or off, or delete it: its allow-list, limits, budget and expiry, and reactivation, are a superuser's (403). API keys of non-superusers cannot call these routes.",
  )
  .annotate(OpenApi.Title, "API keys") {}

// ---------------------------------------------------------------------------------------------
// Providers

export const Protocol = Schema.Literal("openai", "anthropic", "gemini")
const HttpUrl = Text(1024).pipe(Schema.pattern(/^https?:\/\/[^\s]+$/, { message: () => "expected an http(s) URL" }))
const Path = Text(1024).pipe(Schema.pattern(/^\//, { message: () => "expected a path starting with /" }))
const Weight = Schema.Number.pipe(Schema.positive())
/** A string map (headers, aliases): at most 100 entries, names up to 256 and values up to 8 KiB. */
const StringMap = (valueMax: number) =>
  Schema.Record({ key: Text(256), value: Text(valueMax) }).pipe(
    Schema.filter((map) => Object.keys(map).length <= 100 || "expected at most 100 entries"),
  )
const Headers = StringMap(8192)

const providerSettings = {
  name: Text(255, 1),
  protocol: Protocol,
  base_url: HttpUrl,
  provider_type: Schema.Literal("native", "aggregator"),
  weight: Weight,
  enabled: Schema.Boolean,
  // region, costs, max_qps…: shared/ProviderSettings.ts (`null`: not set; a PATCH with null clears).
  ...NullableSettingsFields,
  retryable_status_codes: Schema.NullOr(
    Schema.Array(Schema.Int.pipe(Schema.between(100, 599))).pipe(Schema.maxItems(500)),
  ),
  custom_headers: Headers,
  models_path: Schema.NullOr(Path),
  chat_path: Schema.NullOr(Path),
  responses_path: Schema.NullOr(Path),
  responses_disabled: Schema.Boolean,
  messages_path: Schema.NullOr(Path),
  metadata: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
}

const KeyStatus = Schema.Literal("active", "disabled")

export const CreateProviderKeyRequest = Schema.Struct({
  key: Schema.Redacted(Text(8192, 1)).annotations({ description: "The provider's API key" }),
  label: Schema.optionalWith(Text(50, 1), { default: () => "default" }),
  weight: Schema.optionalWith(Weight, { default: () => 1 }),
  max_qps: Schema.optionalWith(Schema.NullOr(PositiveInt), { default: () => null }),
  status: Schema.optionalWith(KeyStatus, { default: () => "active" as const }),
})

export const UpdateProviderKeyRequest = Schema.Struct({
  key: Schema.optional(Schema.Redacted(Text(8192, 1))),
  label: Schema.optional(Text(50, 1)),
  weight: Schema.optional(Weight),
  max_qps: Schema.optional(Schema.NullOr(PositiveInt)),
  status: Schema.optional(KeyStatus),
})

export const ProviderKeyResponse = Schema.Struct({
  id: Schema.String,
  provider_id: Schema.String,
  label: Schema.String,
  masked_key: Schema.String.annotations({ description: "Never the key: its last characters at most, e.g. '…a1b2'" }),
  weight: Schema.Number,
  max_qps: Schema.NullOr(Schema.Int),
  status: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const ProviderModelsRequest = Schema.Struct({
  models: Schema.NullOr(Schema.Array(Text(200, 1)).pipe(Schema.maxItems(10_000))).annotations({
    description: "The provider's model list; null: discover it from the provider's /models",
  }),
  aliases: Schema.optionalWith(StringMap(200), { default: () => ({}) }).annotations({
    description: "alias → model id",
  }),
})

export const CreateProviderRequest = Schema.Struct({
  id: ProviderSlug,
  name: Schema.optional(providerSettings.name),
  protocol: Schema.optionalWith(Protocol, { default: () => "openai" as const }),
  base_url: HttpUrl,
  provider_type: Schema.optionalWith(providerSettings.provider_type, { default: () => "native" as const }),
  weight: Schema.optionalWith(Weight, { default: () => 1 }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  ...OptionalNullableSettingsFields,
  retryable_status_codes: Schema.optionalWith(providerSettings.retryable_status_codes, { default: () => null }),
  custom_headers: Schema.optionalWith(Headers, { default: () => ({}) }),
  models_path: Schema.optionalWith(providerSettings.models_path, { default: () => null }),
  chat_path: Schema.optionalWith(providerSettings.chat_path, { default: () => null }),
  responses_path: Schema.optionalWith(providerSettings.responses_path, { default: () => null }),
  responses_disabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  messages_path: Schema.optionalWith(providerSettings.messages_path, { default: () => null }),
  metadata: Schema.optionalWith(providerSettings.metadata, { default: () => null }),
  models: Schema.optionalWith(ProviderModelsRequest.fields.models, { default: () => null }),
  aliases: Schema.optionalWith(StringMap(200), { default: () => ({}) }),
  keys: Schema.optionalWith(Schema.Array(CreateProviderKeyRequest), { default: () => [] }),
})

export const UpdateProviderRequest = Schema.partial(Schema.Struct(providerSettings))

export const ProviderResponse = Schema.Struct({
  id: Schema.String,
  ...providerSettings,
  custom_headers: Headers.annotations({ description: "Values of credential-like headers are masked" }),
  status: Schema.String,
  models: Schema.NullOr(Schema.Array(Schema.String)),
  aliases: Headers,
  keys: Schema.Array(ProviderKeyResponse),
  created_at: Timestamp,
  updated_at: Timestamp,
})

/** The `{id}` of a provider's routes (also the routing group's `/providers/{id}/metrics` and `/health`). */
export const providerId = HttpApiSchema.param("id", Schema.String)
const providerKeyId = HttpApiSchema.param("key_id", Schema.String)

export class ProvidersGroup extends HttpApiGroup.make("providers")
  .add(post("create", "/providers", CreateProviderRequest, ProviderResponse, { status: 201 }))
  .add(HttpApiEndpoint.get("list", "/providers").addSuccess(Schema.Array(ProviderResponse)))
  .add(HttpApiEndpoint.get("get")`/providers/${providerId}`.addSuccess(ProviderResponse))
  .add(
    HttpApiEndpoint.patch("update")`/providers/${providerId}`
      .setPayload(UpdateProviderRequest)
      .addSuccess(ProviderResponse),
  )
  .add(HttpApiEndpoint.del("delete")`/providers/${providerId}`.addSuccess(HttpApiSchema.NoContent))
  .add(
    HttpApiEndpoint.put("setModels")`/providers/${providerId}/models`
      .setPayload(ProviderModelsRequest)
      .addSuccess(ProviderResponse)
      .annotate(
        OpenApi.Description,
        "Sets the provider's model list and aliases. (GET /providers/{id}/models lists them.)",
      ),
  )
  .add(HttpApiEndpoint.get("listKeys")`/providers/${providerId}/keys`.addSuccess(Schema.Array(ProviderKeyResponse)))
  .add(
    HttpApiEndpoint.post("createKey")`/providers/${providerId}/keys`
      .setPayload(CreateProviderKeyRequest)
      .addSuccess(ProviderKeyResponse, { status: 201 }),
  )
  .add(
    HttpApiEndpoint.patch("updateKey")`/providers/${providerId}/keys/${providerKeyId}`
      .setPayload(UpdateProviderKeyRequest)
      .addSuccess(ProviderKeyResponse),
  )
  .add(
    HttpApiEndpoint.del("deleteKey")`/providers/${providerId}/keys/${providerKeyId}`.addSuccess(
      HttpApiSchema.NoContent,
    ),
  )
  .middleware(Superuser)
  .annotate(
    OpenApi.Description,
    "Superusers only. Every change reloads the provider registry on every instance. Responses never contain key material.",
  )
  .annotate(OpenApi.Title, "Providers") {}

export class CoreApi extends HttpApi.make("management")
  .add(SystemGroup)
  .add(AuthGroup)
  .add(UsersGroup)
  .add(ApiKeysGroup)
  .add(ProvidersGroup)
  // Every endpoint may answer any of these (storage down, a malformed id…), so no endpoint or
  // group lists them again: HttpApi merges the API's errors into each endpoint's, for the
  // handlers' types and for /openapi.json alike.
  .addError(BadRequest)
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(NotFound)
  .addError(Conflict)
  .addError(ServiceUnavailable)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "APIProxy management API")
  .annotate(
    OpenApi.Description,
    "Accounts, logins, API keys and providers. The data plane (/v1/chat/completions, /v1/responses, /v1/messages, /v1/models) is OpenAI/Anthropic/Gemini-compatible and not described here.",
  ) {}
