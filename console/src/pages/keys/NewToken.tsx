import { useEffect, useRef, useState } from "preact/hooks"
import type { CreatedApiKey } from "../../api/Types.js"
import { Notice } from "../../Controls.js"

/** The new key's token, shown this once: a read-only field to select and a copy button. */
export const NewToken = ({ created, onDone }: { readonly created: CreatedApiKey; readonly onDone: () => void }) => {
  const field = useRef<HTMLInputElement>(null)
  const [copied, setCopied] = useState<string | undefined>(undefined)
  useEffect(() => field.current?.select(), [])
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token)
      setCopied("Copied to the clipboard.")
    } catch {
      field.current?.select()
      setCopied("The browser refused the clipboard: the key is selected, copy it with Ctrl+C.")
    }
  }
  return (
    <section class="card created" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Key “{created.name}” created</h2>
      <p>Copy it now: it is shown only this once.</p>
      <div class="copy-row">
        <label for="new-key-token" class="visually-hidden">
          The new API key
        </label>
        <input id="new-key-token" ref={field} readOnly value={created.token} spellcheck={false} />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      {copied === undefined ? null : <Notice kind="ok">{copied}</Notice>}
      <button type="button" class="secondary" onClick={onDone}>
        Done
      </button>
    </section>
  )
}
