// Walks a drive in a corestore directory with Node hyperdrive 10.21 and prints every entry:
// {"/path": {type, mode, size, mtime, linkname?, content? (base64)}}.
// usage: node cli_tree.js <dir> <key-hex>
'use strict'
const { Hyperdrive, p } = require('./drive_common')

;(async () => {
  const [dir, keyHex] = process.argv.slice(2)
  const drive = Hyperdrive(dir, Buffer.from(keyHex, 'hex'))
  await p((cb) => drive.ready(cb))
  const out = {}
  async function walk (path) {
    const names = await p((cb) => drive.readdir(path, cb))
    for (const name of names) {
      const full = path === '/' ? '/' + name : path + '/' + name
      const st = await p((cb) => drive.lstat(full, cb))
      const e = { mode: st.mode, size: st.size, mtime: st.mtime.getTime() }
      if (st.isSymbolicLink()) {
        e.type = 'symlink'
        e.linkname = st.linkname
      } else if (st.isDirectory()) {
        e.type = 'directory'
        await walk(full)
      } else {
        e.type = 'file'
        e.content = (await p((cb) => drive.readFile(full, cb))).toString('base64')
      }
      out[full] = e
    }
  }
  await walk('/')
  const summary = { writable: drive.writable, version: drive.version, entries: out }
  drive.close(() => console.log(JSON.stringify(summary)))
})().catch((err) => { console.error(err); process.exit(1) })
