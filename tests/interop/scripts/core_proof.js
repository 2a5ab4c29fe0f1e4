// core_proof.js DIR INDEX...: prints the proof hypercore gives for each block (digest 0):
// {proofs: [{index, data, nodes: [{index, hash, size}], signature}]} (hex strings).
'use strict'
const { hypercore, p } = require('./core_common')

async function main () {
  const [dir, ...indexes] = process.argv.slice(2)
  const feed = hypercore(dir, { createIfMissing: false })
  await p((cb) => feed.ready(cb))
  const proofs = []
  for (const s of indexes) {
    const index = Number(s)
    const proof = await p((cb) => feed.proof(index, cb))
    const data = await p((cb) => feed.get(index, cb))
    proofs.push({
      index,
      data: data.toString('hex'),
      nodes: proof.nodes.map((n) => ({ index: n.index, hash: n.hash.toString('hex'), size: n.size })),
      signature: proof.signature ? proof.signature.toString('hex') : null
    })
  }
  await p((cb) => feed.close(cb))
  process.stdout.write(JSON.stringify({ proofs }))
}
main().catch((e) => { console.error(e); process.exit(1) })
