// core_append.js DIR: opens the existing core in DIR (its secret key is stored there),
// appends the batches read from stdin ([[size, ...], ...], contents by global index) and
// prints {length, byteLength, writable}.
'use strict'
const { hypercore, blockBytes, readStdin, p } = require('./core_common')

async function main () {
  const [dir] = process.argv.slice(2)
  const batches = JSON.parse(await readStdin())
  const feed = hypercore(dir, { createIfMissing: false })
  await p((cb) => feed.ready(cb))
  for (const sizes of batches) {
    const blocks = sizes.map((s, k) => blockBytes(feed.length + k, s))
    await p((cb) => feed.append(blocks, cb))
  }
  const out = { length: feed.length, byteLength: feed.byteLength, writable: feed.writable }
  await p((cb) => feed.close(cb))
  process.stdout.write(JSON.stringify(out))
}
main().catch((e) => { console.error(e); process.exit(1) })
