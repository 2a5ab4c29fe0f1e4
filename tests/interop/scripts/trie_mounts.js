// Two tries written by the reference: "sub" holds files, "root" mounts it (and a versioned
// view of it). Prints what mountable-hypertrie's get and list see through the mounts.
// stdin: JSON {dir, rootSeed, subSeed, gets: [path], lists: [{prefix, recursive, gt}]}
'use strict'
const fs = require('fs')
const path = require('path')
const hypercore = require('hypercore')
const hcrypto = require('hypercore-crypto')
const MountableHypertrie = require('mountable-hypertrie')

const p = (fn) => new Promise((resolve, reject) => fn((err, val) => (err ? reject(err) : resolve(val))))
const hex = (b) => (b ? Buffer.from(b).toString('hex') : null)

async function main () {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'))
  const rootKp = hcrypto.keyPair(Buffer.from(input.rootSeed, 'hex'))
  const subKp = hcrypto.keyPair(Buffer.from(input.subSeed, 'hex'))
  const rootFeed = hypercore(path.join(input.dir, 'root'), rootKp.publicKey, { secretKey: rootKp.secretKey })
  const subFeed = hypercore(path.join(input.dir, 'sub'), subKp.publicKey, { secretKey: subKp.secretKey })
  await p(cb => rootFeed.ready(cb))
  await p(cb => subFeed.ready(cb))
  const feeds = new Map([[hex(rootFeed.key), rootFeed], [hex(subFeed.key), subFeed]])
  const store = {
    ready (cb) { process.nextTick(cb) },
    default () { return rootFeed },
    get (opts) { return feeds.get(hex(opts.key)) },
    close (cb) { process.nextTick(cb) }
  }
  const sub = new MountableHypertrie(store, null, { feed: subFeed })
  await p(cb => sub.ready(cb))
  const root = new MountableHypertrie(store, null, { feed: rootFeed })
  await p(cb => root.ready(cb))

  await p(cb => sub.put('f', Buffer.from('sub-f'), cb))
  await p(cb => sub.put('dir/g', Buffer.from('sub-g'), cb))
  const v = sub.version
  await p(cb => sub.put('dir/g', Buffer.from('sub-g2'), cb))
  await p(cb => sub.put('dir/h', Buffer.from('sub-h'), cb))
  await p(cb => root.put('top', Buffer.from('root-top'), cb))
  await p(cb => root.mount('/m', subFeed.key, {}, cb))
  await p(cb => root.mount('/old', subFeed.key, { version: v }, cb))
  await p(cb => root.put('zz/after', Buffer.from('root-after'), cb))

  const out = { subVersion: v, gets: [], lists: [] }
  for (const g of input.gets) {
    const node = await p(cb => root.get(g, (err, n) => cb(err, n)))
    out.gets.push(node ? { key: node.key, value: hex(node.value) } : null)
  }
  for (const l of input.lists) {
    const nodes = await p(cb => root.list(l.prefix, { recursive: l.recursive !== false, gt: !!l.gt }, cb))
    out.lists.push(nodes.map(n => n.key))
  }
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

main().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
