// core_read.js DIR: opens the core in DIR, audits it, reads and verifies every block, and
// prints {length, byteLength, writable, key, audit: {valid, invalid}, blocks: [hex of BLAKE2b
// of each block], signatureOk}.
'use strict'
const { hypercore, hcrypto, p } = require('./core_common')

async function main () {
  const [dir] = process.argv.slice(2)
  const feed = hypercore(dir, { createIfMissing: false })
  await p((cb) => feed.ready(cb))
  const audit = await p((cb) => feed.audit(cb))
  const blocks = []
  for (let i = 0; i < feed.length; i++) {
    const b = await p((cb) => feed.get(i, { wait: false }, cb))
    blocks.push(hcrypto.data(b).toString('hex'))
  }
  let signatureOk = true
  if (feed.length) {
    const sig = await p((cb) => feed.signature(feed.length - 1, cb))
    signatureOk = await p((cb) => feed.verify(sig.index, sig.signature, cb))
  }
  const out = {
    length: feed.length,
    byteLength: feed.byteLength,
    writable: feed.writable,
    key: feed.key.toString('hex'),
    audit,
    blocks,
    signatureOk
  }
  await p((cb) => feed.close(cb))
  process.stdout.write(JSON.stringify(out))
}
main().catch((e) => { console.error(e); process.exit(1) })
