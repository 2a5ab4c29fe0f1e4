// Applies trie operations with the reference (hypertrie 5.1.3 + mountable-hypertrie 2.8.0) to a
// hypercore stored in a directory, then answers queries about the result.
// stdin: JSON {
//   dir, seed (hex, 32 bytes: the feed's key pair), writable (default true),
//   metadata (hex|null), subtype (string|null),
//   ops: [{op:'put', key, value(hex|null), hidden, flags} | {op:'del', key, hidden}
//         | {op:'batch', ops:[{type:'put'|'del', key, value, hidden, flags}]}
//         | {op:'mount', path, key(hex), version, remotePath} | {op:'unmount', path}
//         | {op:'bulk', count, layout:'flat'|'deep', batch, prefix}]   (generated puts)
//   blocks: bool (print every block as hex),
//   lists: [{version, prefix, recursive, hidden, gt}], gets: [{version, key, hidden, closest}],
//   diffs: [{a, b, prefix, hidden}], history: [{version}], header: bool
// }
// stdout: JSON {key, length, blocks?, lists, gets, diffs, history, header?}
'use strict'
const fs = require('fs')
const path = require('path')
const hypercore = require('hypercore')
const hypertrie = require('hypertrie')
const hcrypto = require('hypercore-crypto')
const MountableHypertrie = require('mountable-hypertrie')

const p = (fn) => new Promise((resolve, reject) => fn((err, val) => (err ? reject(err) : resolve(val))))

function hex (b) { return b ? Buffer.from(b).toString('hex') : null }
function buf (h) { return h === null || h === undefined ? null : Buffer.from(h, 'hex') }

function bulkKey (layout, prefix, i) {
  if (layout === 'deep') return `${prefix}d${i % 7}/e${i % 13}/f${i % 101}/k${i}`
  return `${prefix}k${i}`
}

function nodeJson (n) {
  if (!n) return null
  return { key: n.key, value: hex(n.value), seq: n.seq, flags: n.flags, hidden: n.hidden }
}

async function main () {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'))
  const kp = hcrypto.keyPair(buf(input.seed))
  const writable = input.writable !== false
  const feed = hypercore(input.dir, kp.publicKey, writable ? { secretKey: kp.secretKey } : {})
  await p(cb => feed.ready(cb))
  const db = hypertrie(null, null, {
    feed,
    metadata: buf(input.metadata),
    subtype: input.subtype || undefined,
    extension: false
  })
  await p(cb => db.ready(cb))

  // mountable-hypertrie wants a corestore: give it a minimal one over directories.
  const feeds = new Map([[hex(feed.key), feed]])
  const store = {
    ready (cb) { process.nextTick(cb) },
    default () { return feed },
    get (opts) {
      const k = hex(opts.key)
      if (!feeds.has(k)) feeds.set(k, hypercore(path.join(input.dir, 'mounted-' + k), opts.key))
      return feeds.get(k)
    },
    close (cb) { process.nextTick(cb) }
  }
  const mountable = new MountableHypertrie(store, null, { trie: db, feed })
  await p(cb => mountable.ready(cb))

  for (const op of input.ops || []) {
    if (op.op === 'put') {
      await p(cb => db.put(op.key, buf(op.value), { hidden: !!op.hidden, flags: op.flags || 0 }, cb))
    } else if (op.op === 'del') {
      await p(cb => db.del(op.key, { hidden: !!op.hidden }, cb))
    } else if (op.op === 'batch') {
      const ops = op.ops.map(o => ({ type: o.type, key: o.key, value: buf(o.value), hidden: !!o.hidden, flags: o.flags || 0 }))
      await p(cb => db.batch(ops, cb))
    } else if (op.op === 'mount') {
      const opts = {}
      if (op.version !== undefined && op.version !== null) opts.version = op.version
      if (op.remotePath) opts.remotePath = op.remotePath
      await p(cb => mountable.mount(op.path, buf(op.key), opts, cb))
    } else if (op.op === 'unmount') {
      await p(cb => mountable.unmount(op.path, cb))
    } else if (op.op === 'bulk') {
      const size = op.batch || 1000
      for (let i = 0; i < op.count; i += size) {
        const ops = []
        for (let j = i; j < Math.min(op.count, i + size); j++) {
          ops.push({ type: 'put', key: bulkKey(op.layout, op.prefix || '', j), value: Buffer.from('v' + j) })
        }
        await p(cb => db.batch(ops, cb))
      }
    } else {
      throw new Error('unknown op ' + op.op)
    }
  }

  const at = (v) => (v === null || v === undefined ? db : db.checkout(v))
  const out = { key: hex(feed.key), length: feed.length }
  if (input.blocks) {
    out.blocks = []
    for (let i = 0; i < feed.length; i++) out.blocks.push(hex(await p(cb => feed.get(i, cb))))
  }
  if (input.header) {
    out.header = { metadata: hex(await p(cb => db.getMetadata(cb))) }
  }
  out.lists = []
  for (const q of input.lists || []) {
    const nodes = await p(cb => at(q.version).list(q.prefix || '', {
      recursive: q.recursive !== false, hidden: !!q.hidden, gt: !!q.gt
    }, cb))
    out.lists.push(nodes.map(nodeJson))
  }
  out.gets = []
  for (const q of input.gets || []) {
    const n = await p(cb => at(q.version).get(q.key, { hidden: !!q.hidden, closest: !!q.closest }, cb))
    out.gets.push(nodeJson(n))
  }
  out.diffs = []
  for (const q of input.diffs || []) {
    const ite = at(q.a).diff(q.b === null || q.b === undefined ? db.version : q.b, q.prefix || '', { hidden: !!q.hidden })
    const list = []
    while (true) {
      const d = await p(cb => ite.next(cb))
      if (!d) break
      list.push([d.key, d.left ? d.left.seq : 0, d.right ? d.right.seq : 0])
    }
    out.diffs.push(list)
  }
  out.history = []
  for (const q of input.history || []) {
    const ite = at(q.version).history()
    const list = []
    while (true) {
      const n = await p(cb => ite.next(cb))
      if (!n) break
      list.push(n.seq)
    }
    out.history.push(list)
  }
  await p(cb => feed.close(cb))
  for (const f of feeds.values()) if (f !== feed) await p(cb => f.close(cb))
  process.stdout.write(JSON.stringify(out))
}

main().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
