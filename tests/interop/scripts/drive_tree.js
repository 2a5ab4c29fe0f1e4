// What Node hyperdrive 10.21 sees of a drive (mounts included) in a corestore directory, at
// the latest version and at the given checkouts: the sorted recursive listing of /, each given
// path's Stat (lstat: a symlink or mount point itself) and, for files, its content's checksum,
// and the mounts.
// usage: node drive_tree.js <dir> <key-hex>   stdin: {paths, latestPaths, versions}
// In checkouts, latestPaths are not looked at and the listing does not go into mounts: the
// reference's checkout never answers a read through a live (unpinned) mount (its callback is
// never called).
'use strict'
const path = require('path')
const Corestore = require(path.join(__dirname, '..', 'node_modules', 'corestore'))
const { Hyperdrive, fnv, readStdin, p, errorName, describeStat } = require('./drive_common')

async function view (drive, q, latest) {
  const out = { version: drive.version, tree: [], paths: {}, mounts: [] }
  out.tree = (await p((cb) => drive.readdir('/', { recursive: true, noMounts: !latest }, cb))).sort()
  for (const f of latest ? q.paths.concat(q.latestPaths) : q.paths) {
    const e = {}
    try {
      e.lstat = describeStat(await p((cb) => drive.lstat(f, cb)))
      if (e.lstat.mode >> 12 === 8) {
        e.content = fnv(await p((cb) => drive.readFile(f, cb)))
      }
    } catch (err) {
      e.error = errorName(err)
    }
    out.paths[f] = e
  }
  const mounts = await p((cb) => drive.getAllMounts(cb))
  for (const [mp, { metadata }] of mounts) {
    out.mounts.push({ path: mp, key: metadata.key.toString('hex') })
  }
  out.mounts.sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : 0)
  return out
}

;(async () => {
  const [dir, keyHex] = process.argv.slice(2)
  const q = JSON.parse(await readStdin())
  const store = new Corestore(dir)
  await store.ready()
  const drive = Hyperdrive(store, Buffer.from(keyHex, 'hex'))
  await p((cb) => drive.ready(cb))
  const views = [await view(drive, q, true)]
  for (const v of q.versions) views.push(await view(drive.checkout(v), q, false))
  await p((cb) => store.close(cb))
  console.log(JSON.stringify({ views }))
})().catch((err) => { console.error(err); process.exit(1) })
