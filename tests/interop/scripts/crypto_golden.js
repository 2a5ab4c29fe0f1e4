// Computes, with the reference's own modules, the values the C++ crypto golden test checks.
// Input (stdin): JSON { seed, message, leaves: [hex], masterKey, ns, name, rx, tx } (hex strings).
// Output: JSON with every derived value in hex.
const crypto = require('hypercore-crypto')
const deriveKey = require('derive-key')

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const hex = (b) => Buffer.from(b).toString('hex')
const buf = (h) => Buffer.from(h, 'hex')

const kp = crypto.keyPair(buf(input.seed))
const leaves = input.leaves.map((h, i) => ({ index: 2 * i, size: buf(h).length, hash: crypto.data(buf(h)) }))
// flat tree: the parent of leaves 0 and 2 is node 1
const parent = { index: 1, size: leaves[0].size + leaves[1].size, hash: crypto.parent(leaves[0], leaves[1]) }
const roots = [parent, leaves[2]]
const split = { rx: buf(input.rx), tx: buf(input.tx) }
const key = kp.publicKey

console.log(JSON.stringify({
  publicKey: hex(kp.publicKey),
  secretKey: hex(kp.secretKey),
  signature: hex(crypto.sign(buf(input.message), kp.secretKey)),
  leafHashes: leaves.map((l) => hex(l.hash)),
  parentHash: hex(parent.hash),
  rootHash: hex(crypto.tree(roots)),
  signable: hex(crypto.signable(roots, 3)),
  discoveryKey: hex(crypto.discoveryKey(key)),
  derived: hex(deriveKey(input.ns, buf(input.masterKey), input.name)),
  capability: hex(crypto.capability(key, split)),
  remoteCapability: hex(crypto.remoteCapability(key, split))
}))
