// Opens a corestore with Node corestore 5 and reports on its default core, the default core of
// namespace "drives", and the cores whose keys are given; optionally appends to the default.
// usage: node corestore_read.js <dir> <append-json-array> [key...]
const Corestore = require('corestore')

const [dir, appendJson, ...keys] = process.argv.slice(2)
const store = new Corestore(dir)
const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function describe (core) {
  await cb((done) => core.ready(done))
  const blocks = []
  for (let i = 0; i < core.length; i++) blocks.push((await cb((done) => core.get(i, done))).toString())
  return { key: core.key.toString('hex'), writable: core.writable, length: core.length, blocks }
}

;(async () => {
  await store.ready()
  const def = store.default()
  const toAppend = JSON.parse(appendJson)
  await cb((done) => def.ready(done))
  if (toAppend.length) await cb((done) => def.append(toAppend.map((b) => Buffer.from(b)), done))
  const out = {
    default: await describe(def),
    ns: await describe(store.namespace('drives').default()),
    others: []
  }
  for (const k of keys) out.others.push(await describe(store.get({ key: Buffer.from(k, 'hex') })))
  store.close(() => console.log(JSON.stringify(out)))
})().catch((err) => { console.error(err); process.exit(1) })
