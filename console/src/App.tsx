import { useEffect, useMemo, useState } from "preact/hooks"
import { createSession } from "./api/Session.js"
import type { User } from "./api/Types.js"
import { messageOf, Notice } from "./Controls.js"
import { Account } from "./pages/Account.js"
import { ApiKeys } from "./pages/ApiKeys.js"
import { LogicalModels } from "./pages/LogicalModels.js"
import { Playground } from "./pages/Playground.js"
import { Providers } from "./pages/Providers.js"
import { RequestLog } from "./pages/RequestLog.js"
import { SignIn } from "./pages/SignIn.js"
import { Usage } from "./pages/Usage.js"
import { Users } from "./pages/Users.js"
import { PAGES, type Page, pageOf, pathOf, TITLES } from "./Route.js"

/** The pages only a superuser sees (the API refuses their calls to anyone else). */
const SUPERUSER_PAGES: ReadonlySet<Page> = new Set(["providers", "models", "users"])

/** The pages a user sees. */
const pagesFor = (me: User): ReadonlyArray<Page> =>
  PAGES.filter((page) => !SUPERUSER_PAGES.has(page) || me.is_superuser)

const useLocation = () => {
  const [pathname, setPathname] = useState(location.pathname)
  useEffect(() => {
    const onPop = () => setPathname(location.pathname)
    addEventListener("popstate", onPop)
    return () => removeEventListener("popstate", onPop)
  }, [])
  const navigate = (path: string) => {
    if (path !== location.pathname) history.pushState(null, "", path)
    setPathname(path)
  }
  return [pathname, navigate] as const
}

export const App = () => {
  const [pathname, navigate] = useLocation()
  const [me, setMe] = useState<User | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const session = useMemo(
    () =>
      createSession({
        onSignedOut: (reason) => {
          setMe(undefined)
          setNotice(reason)
        },
      }),
    [],
  )

  const loadMe = () => {
    setNotice(undefined)
    session.request<User>("GET", "/auth/me").then(setMe, (failure) => setError(messageOf(failure)))
  }

  const page = pageOf(pathname)
  useEffect(() => {
    if (me === undefined) return
    const allowed = pagesFor(me)
    if (page === undefined || (page !== "unknown" && !allowed.includes(page))) navigate(pathOf(allowed[0]!))
  }, [me, page])
  useEffect(() => {
    document.title =
      me === undefined
        ? "Sign in · APIProxy"
        : page === undefined || page === "unknown"
          ? "APIProxy"
          : `${TITLES[page]} · APIProxy`
    // A page change moves focus to its heading, so a screen reader announces it.
    const heading = me === undefined ? null : document.querySelector<HTMLElement>("main h1")
    if (heading !== null) {
      heading.tabIndex = -1
      heading.focus()
    }
  }, [me, page])

  if (me === undefined) {
    return (
      <>
        {error === undefined ? null : <Notice kind="error">{error}</Notice>}
        <SignIn session={session} notice={notice} onSignedIn={loadMe} />
      </>
    )
  }

  // A page the user may not see is never rendered (its calls would be refused): the effect above moves on.
  const current = page === undefined || (page !== "unknown" && !pagesFor(me).includes(page)) ? undefined : page
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">APIProxy</span>
        <nav aria-label="Console">
          <ul>
            {pagesFor(me).map((entry) => (
              <li key={entry}>
                <a
                  href={pathOf(entry)}
                  aria-current={entry === current ? "page" : undefined}
                  onClick={(event) => {
                    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
                    event.preventDefault()
                    navigate(pathOf(entry))
                  }}
                >
                  {TITLES[entry]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.username}{" "}
          <button type="button" class="secondary" onClick={() => session.signOut().catch(() => undefined)}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main">
        {current === "providers" ? <Providers session={session} /> : null}
        {current === "keys" ? <ApiKeys session={session} me={me} /> : null}
        {current === "playground" ? <Playground /> : null}
        {current === "account" ? <Account session={session} me={me} /> : null}
        {current === "models" ? <LogicalModels session={session} /> : null}
        {current === "logs" ? <RequestLog session={session} me={me} /> : null}
        {current === "users" ? <Users session={session} me={me} /> : null}
        {current === "usage" ? <Usage session={session} me={me} /> : null}
        {current === "unknown" ? (
          <section>
            <h1>Not found</h1>
            <p>There is no such page in the console.</p>
          </section>
        ) : null}
      </main>
    </>
  )
}
