// core_write.js DIR SEEDHEX: creates (or continues) the core in DIR with the key pair of the
// seed, appends the batches read from stdin as JSON [[size, ...], ...] and prints
// {length, byteLength}.
'use strict'
const { hypercore, hcrypto, blockBytes, readStdin, p } = require('./core_common')

async function main () {
  const [dir, seedHex] = process.argv.slice(2)
  const kp = hcrypto.keyPair(Buffer.from(seedHex, 'hex'))
  const batches = JSON.parse(await readStdin())
  const feed = hypercore(dir, kp.publicKey, { secretKey: kp.secretKey })
  await p((cb) => feed.ready(cb))
  for (const sizes of batches) {
    const blocks = sizes.map((s, k) => blockBytes(feed.length + k, s))
    if (blocks.length === 1) await p((cb) => feed.append(blocks[0], cb))
    else await p((cb) => feed.append(blocks, cb))
  }
  const out = { length: feed.length, byteLength: feed.byteLength }
  await p((cb) => feed.close(cb))
  process.stdout.write(JSON.stringify(out))
}
main().catch((e) => { console.error(e); process.exit(1) })
