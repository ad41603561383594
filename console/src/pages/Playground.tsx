import { useEffect, useRef, useState } from "preact/hooks"
import { listModels, streamChat } from "../api/ChatStream.js"
import { Field, messageOf, Notice, Select } from "../Controls.js"

/**
 * A chat with the gateway's data plane, as an application would call it: with an API key
 * (kept in this page's memory only), a model that key may use, and a streamed answer.
 */
export const Playground = () => {
  const [apiKey, setApiKey] = useState("")
  const [models, setModels] = useState<ReadonlyArray<string> | undefined>(undefined)
  const [model, setModel] = useState("")
  const [message, setMessage] = useState("")
  const [answer, setAnswer] = useState("")
  const [headers, setHeaders] = useState<ReadonlyArray<readonly [string, string]>>([])
  const [error, setError] = useState<string | undefined>(undefined)
  const [state, setState] = useState<"idle" | "loading" | "streaming" | "done">("idle")
  const abort = useRef<AbortController | undefined>(undefined)
  // Leaving the page stops a stream still running.
  useEffect(() => () => abort.current?.abort(), [])

  const load = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setState("loading")
    try {
      const list = await listModels(apiKey.trim())
      setModels(list)
      setModel((current) => (list.includes(current) ? current : (list[0] ?? "")))
      setState("idle")
    } catch (failure) {
      setModels(undefined)
      setError(messageOf(failure))
      setState("idle")
    }
  }

  const send = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setAnswer("")
    setHeaders([])
    setState("streaming")
    const controller = new AbortController()
    abort.current = controller
    try {
      await streamChat(
        { apiKey: apiKey.trim(), model, message, signal: controller.signal },
        { onHeaders: setHeaders, onText: (text) => setAnswer((sofar) => sofar + text) },
      )
      setState("done")
    } catch (failure) {
      setError(controller.signal.aborted ? "Stopped." : messageOf(failure))
      setState("idle")
    } finally {
      abort.current = undefined
    }
  }

  return (
    <section aria-labelledby="playground-title">
      <h1 id="playground-title">Playground</h1>
      <form class="card" onSubmit={load} aria-label="Key to use" autocomplete="off">
        <div class="grid">
          <Field
            label="API key"
            type="password"
            value={apiKey}
            onValue={setApiKey}
            required
            spellcheck={false}
            autocomplete="off"
            hint="Kept in this page only; the chat is sent with it, as an application would"
          />
        </div>
        <button type="submit" disabled={state === "loading" || apiKey.trim() === ""}>
          {state === "loading" ? "Loading models…" : "Load models"}
        </button>
      </form>
      {models === undefined ? null : (
        <form class="card" onSubmit={send} aria-label="Chat">
          {models.length === 0 ? (
            <Notice kind="error">This key may use no model.</Notice>
          ) : (
            <Select label="Model" value={model} onValue={setModel} options={models.map((id) => [id, id] as const)} />
          )}
          <div class="field">
            <label for="playground-message">Message</label>
            <textarea
              id="playground-message"
              rows={4}
              value={message}
              required
              onInput={(event) => setMessage(event.currentTarget.value)}
            />
          </div>
          <div class="row">
            <button type="submit" disabled={state === "streaming" || model === ""}>
              {state === "streaming" ? "Streaming…" : "Send"}
            </button>
            {state === "streaming" ? (
              <button type="button" class="secondary" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            ) : null}
          </div>
        </form>
      )}
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {answer === "" && state !== "streaming" ? null : (
        <div class="card">
          <h2 id="answer-title">Answer</h2>
          <output class="answer" aria-labelledby="answer-title" aria-live="polite" aria-busy={state === "streaming"}>
            {answer}
          </output>
          {state === "done" ? <p class="hint">Complete.</p> : null}
        </div>
      )}
      {headers.length === 0 ? null : (
        <div class="card">
          <h2 id="headers-title">Gateway headers</h2>
          <dl class="facts" aria-labelledby="headers-title">
            {headers.map(([name, value]) => [<dt key={`${name}-n`}>{name}</dt>, <dd key={`${name}-v`}>{value}</dd>])}
          </dl>
        </div>
      )}
    </section>
  )
}
