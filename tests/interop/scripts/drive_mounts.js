// Mounts with Node hyperdrive 10.21 in one corestore directory: drive A (the store's default)
// mounts drive B (namespace "b") at /m and at /pinned (B's version 3).
// usage: node drive_mounts.js write <dir>     prints {a, b}
//        node drive_mounts.js read <dir> <a>  prints what A shows through its mounts
//        node drive_mounts.js writeThrough <dir> <a>  writes /m/from-node.txt through A's mount
'use strict'
const path = require('path')
const Corestore = require(path.join(__dirname, '..', 'node_modules', 'corestore'))
const { Hyperdrive, p, errorName, describeStat } = require('./drive_common')

async function write (dir) {
  const store = new Corestore(dir)
  await store.ready()
  const a = Hyperdrive(store)
  const b = Hyperdrive(store, null, { namespace: 'b' })
  await p((cb) => a.ready(cb))
  await p((cb) => b.ready(cb))
  await p((cb) => b.writeFile('/inner/file.txt', Buffer.from('inside b'), cb))
  await p((cb) => b.writeFile('/inner/second.txt', Buffer.from('second'), cb))
  await p((cb) => b.writeFile('/later.txt', Buffer.from('later'), cb))
  await p((cb) => a.writeFile('/outer.txt', Buffer.from('in a'), cb))
  await p((cb) => a.mount('/m', b.key, { uid: 3 }, cb))
  await p((cb) => a.mount('/pinned', b.key, { version: 3 }, cb))
  const out = { a: a.key.toString('hex'), b: b.key.toString('hex') }
  await p((cb) => store.close(cb))
  return out
}

async function read (dir, aKey) {
  const store = new Corestore(dir)
  await store.ready()
  const a = Hyperdrive(store, Buffer.from(aKey, 'hex'))
  await p((cb) => a.ready(cb))
  const out = { files: {}, dirs: {}, stats: {}, mounts: [] }
  for (const f of ['/m/from-cpp.txt', '/m/inner/file.txt', '/m/later.txt', '/pinned/inner/second.txt', '/pinned/later.txt', '/outer.txt']) {
    try {
      out.files[f] = (await p((cb) => a.readFile(f, cb))).toString()
    } catch (err) {
      out.files[f] = { error: errorName(err) }
    }
  }
  for (const [d, recursive] of [['/', false], ['/', true], ['/m', false], ['/m/inner', false], ['/pinned', true]]) {
    const names = await p((cb) => a.readdir(d, { recursive }, cb))
    out.dirs[d + (recursive ? ' recursive' : '')] = names.sort()
  }
  for (const f of ['/m', '/pinned', '/m/inner/file.txt']) {
    const st = describeStat(await p((cb) => a.lstat(f, cb)))
    delete st.mtime
    delete st.ctime
    out.stats[f] = st
  }
  out.diff = []
  await new Promise((resolve, reject) => {
    const s = a.createDiffStream(2, '/')
    s.on('data', (e) => out.diff.push({ type: e.type, name: e.name }))
    s.on('error', reject)
    s.on('end', resolve)
  })
  out.diff.sort((x, y) => x.name < y.name ? -1 : x.name > y.name ? 1 : 0)
  const mounts = await p((cb) => a.getAllMounts(cb))
  for (const [mp, { metadata, content }] of mounts) {
    out.mounts.push({ path: mp, metadata: metadata.key.toString('hex'), content: content ? content.key.toString('hex') : null })
  }
  await p((cb) => store.close(cb))
  return out
}

async function writeThrough (dir, aKey) {
  const store = new Corestore(dir)
  await store.ready()
  const a = Hyperdrive(store, Buffer.from(aKey, 'hex'))
  await p((cb) => a.ready(cb))
  await p((cb) => a.writeFile('/m/from-node.txt', Buffer.from('node wrote this'), cb))
  await p((cb) => store.close(cb))
  return { ok: true }
}

;(async () => {
  const [mode, dir, aKey] = process.argv.slice(2)
  const out = mode === 'write' ? await write(dir) : mode === 'read' ? await read(dir, aKey) : await writeThrough(dir, aKey)
  console.log(JSON.stringify(out))
})().catch((err) => { console.error(err); process.exit(1) })
