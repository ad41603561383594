/**
 * Which models embed — the rule the gateway's model lists show and its embeddings routing uses
 * (README, "Embeddings"). Pure.
 *
 * 1. An Anthropic-protocol provider has no embeddings API: none of its models embeds.
 * 2. Where the provider's own model list says it, that decides: a Gemini model embeds when its
 *    `supportedGenerationMethods` include `embedContent` (or `batchEmbedContents`), and does not
 *    when they are listed without it.
 * 3. Otherwise (an OpenAI-style list says nothing of capabilities; a static list neither) the id
 *    tells: it contains `embed` (`text-embedding-3-small`, `gemini-embedding-001`,
 *    `nomic-embed-text`, `jina-embeddings-v3`).
 *
 * Routing excludes a candidate only on rules 1 and 2 (what is known): an operator's logical
 * model, a `provider/model` or a discovered id outside rule 3's pattern (`bge-m3`) is still
 * asked, and a provider that cannot embed it says so itself.
 */
import type { Provider } from "../registry/Provider.js"

/** Rule 3: the id names an embedding model. */
export const looksLikeEmbeddingModel = (model: string): boolean => /embed/i.test(model)

/** Rules 1 and 2: may this model be asked for embeddings? (`listed`: what its provider's list says, if anything.) */
export const mayEmbed = (provider: Pick<Provider, "protocol">, listed: boolean | undefined): boolean =>
  provider.protocol !== "anthropic" && listed !== false

/** The whole rule, for model lists: does this model embed? */
export const embeds = (provider: Pick<Provider, "protocol">, model: string, listed: boolean | undefined): boolean =>
  mayEmbed(provider, listed) && (listed ?? looksLikeEmbeddingModel(model))
