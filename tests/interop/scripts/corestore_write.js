// Writes a corestore with Node corestore 5: the default core, a namespaced default core and a
// core with a random name, each with some blocks. Prints their keys and blocks as JSON.
// usage: node corestore_write.js <dir>
const Corestore = require('corestore')

const dir = process.argv[2]
const store = new Corestore(dir)
const append = (core, blocks) => new Promise((resolve, reject) => {
  core.append(blocks.map((b) => Buffer.from(b)), (err) => err ? reject(err) : resolve())
})
const ready = (core) => new Promise((resolve, reject) => core.ready((err) => err ? reject(err) : resolve()))

;(async () => {
  await store.ready()
  const def = store.default()
  const ns = store.namespace('drives').default()
  const random = store.get()
  await Promise.all([ready(def), ready(ns), ready(random)])
  const blocks = {
    default: ['hello', 'world', ''],
    ns: ['namespaced'],
    random: ["x".repeat(70000), "y"]
  }
  await append(def, blocks.default)
  await append(ns, blocks.ns)
  await append(random, blocks.random)
  const out = {
    default: { key: def.key.toString('hex'), blocks: blocks.default },
    ns: { key: ns.key.toString('hex'), blocks: blocks.ns },
    random: { key: random.key.toString('hex'), blocks: blocks.random }
  }
  store.close(() => console.log(JSON.stringify(out)))
})().catch((err) => { console.error(err); process.exit(1) })
