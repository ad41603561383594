/** The console's pages, each at `/ui/<page>` (the gateway serves index.html for every one). */
export const PAGES = ["providers", "models", "keys", "users", "playground", "logs", "usage", "account"] as const
export type Page = (typeof PAGES)[number]

export const TITLES: Record<Page, string> = {
  providers: "Providers",
  keys: "API keys",
  playground: "Playground",
  account: "Account",
  models: "Logical models",
  logs: "Request log",
  users: "Users",
  usage: "Usage",
}

/** The page at `pathname`; `undefined` for `/ui` itself (the start page is chosen by role). */
export const pageOf = (pathname: string): Page | "unknown" | undefined => {
  const rest = pathname.replace(/^\/ui\/?/, "").replace(/\/$/, "")
  if (rest === "") return undefined
  return (PAGES as ReadonlyArray<string>).includes(rest) ? (rest as Page) : "unknown"
}

export const pathOf = (page: Page): string => `/ui/${page}`
