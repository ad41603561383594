import { PGlite } from "@electric-sql/pglite"
import * as fs from "node:fs"
const t0 = Date.now()
const mode = process.argv[2]
let db
if (mode === "mem") db = await PGlite.create("memory://", { startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"] })
else if (mode === "dump") { db = await PGlite.create(process.argv[3]); const b = await db.dumpDataDir("gzip"); fs.writeFileSync("/tmp/pgdump.tgz", Buffer.from(await b.arrayBuffer())); console.log("dump bytes", b.size) }
else if (mode === "load") { const buf = fs.readFileSync("/tmp/pgdump.tgz"); db = await PGlite.create(process.argv[3], { loadDataDir: new Blob([buf]), startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"] }) }
console.log(mode, "create", Date.now() - t0)
await db.close()
