import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Users, API keys, providers with their keys and models, and logical models (docs/ARCHITECTURE.md, State). */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username varchar(64) NOT NULL UNIQUE,
      email varchar(255) NOT NULL UNIQUE,
      display_name varchar(255),
      avatar varchar(512),
      hashed_password text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      is_superuser boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE providers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      provider_id varchar(50) NOT NULL UNIQUE,
      name varchar(255) NOT NULL,
      protocol varchar(16) NOT NULL DEFAULT 'openai',
      base_url text NOT NULL,
      provider_type varchar(16) NOT NULL DEFAULT 'native',
      weight double precision NOT NULL DEFAULT 1,
      enabled boolean NOT NULL DEFAULT true,
      region varchar(64),
      cost_input double precision,
      cost_output double precision,
      max_qps integer,
      retryable_status_codes jsonb,
      custom_headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      models_path text,
      chat_path text,
      responses_path text,
      responses_disabled boolean NOT NULL DEFAULT false,
      messages_path text,
      static_models jsonb,
      status varchar(16) NOT NULL DEFAULT 'healthy',
      metadata jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE provider_api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      provider_uuid uuid NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
      encrypted_key bytea NOT NULL,
      key_version integer NOT NULL,
      key_suffix varchar(8) NOT NULL,
      label varchar(50) NOT NULL,
      weight double precision NOT NULL DEFAULT 1,
      max_qps integer,
      status varchar(16) NOT NULL DEFAULT 'active',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (provider_uuid, label)
    )`
  yield* sql`
    CREATE TABLE provider_models (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      provider_id uuid NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
      model_id varchar(200) NOT NULL,
      alias varchar(200),
      family varchar(100),
      display_name varchar(200),
      context_length integer,
      capabilities jsonb,
      pricing jsonb,
      metadata jsonb,
      meta_hash varchar(64),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (provider_id, model_id)
    )`
  yield* sql`
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name varchar(255) NOT NULL,
      key_hash varchar(128) NOT NULL UNIQUE,
      key_version integer NOT NULL,
      key_prefix varchar(32) NOT NULL,
      expiry_type varchar(8) NOT NULL DEFAULT 'never',
      expires_at timestamptz,
      is_active boolean NOT NULL DEFAULT true,
      has_provider_restrictions boolean NOT NULL DEFAULT false,
      requests_per_minute integer,
      tokens_per_minute integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, name)
    )`
  yield* sql`CREATE INDEX api_keys_prefix_idx ON api_keys (key_prefix)`
  yield* sql`
    CREATE TABLE api_key_allowed_providers (
      api_key_id uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
      provider_id varchar(50) NOT NULL REFERENCES providers(provider_id) ON DELETE CASCADE ON UPDATE CASCADE,
      PRIMARY KEY (api_key_id, provider_id)
    )`
  yield* sql`
    CREATE TABLE logical_models (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      logical_id varchar(200) NOT NULL UNIQUE,
      display_name varchar(200),
      description text,
      enabled boolean NOT NULL DEFAULT true,
      strategy varchar(32) NOT NULL DEFAULT 'balanced',
      capabilities jsonb NOT NULL DEFAULT '["chat"]'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE logical_model_upstreams (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      logical_model_id uuid NOT NULL REFERENCES logical_models(id) ON DELETE CASCADE,
      provider_id varchar(50) NOT NULL REFERENCES providers(provider_id) ON DELETE CASCADE ON UPDATE CASCADE,
      model_id varchar(200) NOT NULL,
      weight double precision NOT NULL DEFAULT 1,
      priority integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (logical_model_id, provider_id, model_id)
    )`
})
