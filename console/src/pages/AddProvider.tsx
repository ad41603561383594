import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import { Field, Notice, Select, useSubmit } from "../Controls.js"
import { parseModelList } from "../providers/ProviderEdits.js"

export const PROTOCOLS = [
  ["openai", "OpenAI"],
  ["anthropic", "Anthropic"],
  ["gemini", "Gemini"],
] as const

/** Adds a provider with one key. The key field is write-only: cleared once saved, never shown again. */
export const AddProvider = ({
  session,
  onAdded,
}: {
  readonly session: Session
  readonly onAdded: (id: string) => void
}) => {
  const [id, setId] = useState("")
  const [name, setName] = useState("")
  const [protocol, setProtocol] = useState("openai")
  const [baseUrl, setBaseUrl] = useState("")
  const [key, setKey] = useState("")
  const [models, setModels] = useState("")
  const { submit, error, busy } = useSubmit(async () => {
    const listed = parseModelList(models)
    await session.request("POST", "/providers", {
      id,
      ...(name.trim() === "" ? {} : { name: name.trim() }),
      protocol,
      base_url: baseUrl.trim(),
      ...(listed.length === 0 ? {} : { models: listed }),
      keys: key === "" ? [] : [{ key, label: "default" }],
    })
    setKey("")
    setId("")
    setName("")
    setBaseUrl("")
    setModels("")
    onAdded(id)
  })
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-provider-title" autocomplete="off">
      <h2 id="add-provider-title">Add a provider</h2>
      <div class="grid">
        <Field
          label="Id"
          value={id}
          onValue={setId}
          required
          pattern="[a-z0-9][a-z0-9._\-]{0,49}"
          hint="a-z 0-9 . _ - (lower case), as in provider/model"
        />
        <Field label="Name" value={name} onValue={setName} hint="Optional; the id when empty" />
        <Select label="Protocol" value={protocol} onValue={setProtocol} options={PROTOCOLS} />
        <Field
          label="Base URL"
          type="url"
          value={baseUrl}
          onValue={setBaseUrl}
          required
          placeholder="https://api.example.com/v1"
        />
        <Field
          label="API key"
          type="password"
          value={key}
          onValue={setKey}
          autocomplete="new-password"
          spellcheck={false}
          hint="Write-only: stored encrypted, shown masked afterwards"
        />
        <Field
          label="Models"
          value={models}
          onValue={setModels}
          hint="Comma-separated; empty: discovered from the provider"
        />
      </div>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? "Adding…" : "Add provider"}
      </button>
    </form>
  )
}
