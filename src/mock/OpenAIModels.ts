/** OpenAI `GET /v1/models` and `GET /v1/models/{id}` bodies. */
const CREATED = 1_700_000_000

const ownerOf = (id: string) =>
  id.startsWith("claude") ? "anthropic" : id.startsWith("gemini") ? "google" : id.startsWith("gpt") ? "openai" : "mock"

export const openAIModel = (id: string) => ({ id, object: "model", created: CREATED, owned_by: ownerOf(id) })

export const openAIModels = (ids: ReadonlyArray<string>) => ({ object: "list", data: ids.map(openAIModel) })
