// Applies a list of drive operations (JSON on stdin) to the drive in a corestore directory
// with Node hyperdrive 10.21. The drive is the store's default one, or the one of the key given.
// usage: node drive_apply.js <dir> [key-hex]   stdin: [{op, ...}, ...]
// prints {key, contentKey, writable, results: [null | error name], marks: [version...]}
'use strict'
const { Hyperdrive, dataOf, readStdin, p, errorName } = require('./drive_common')

function optsOf (o) {
  if (!o) return {}
  const out = {}
  for (const k of ['mode', 'uid', 'gid', 'mtime', 'ctime']) if (o[k] !== undefined) out[k] = o[k]
  if (o.metadata) {
    out.metadata = {}
    for (const [k, v] of o.metadata) out.metadata[k] = Buffer.from(v, 'utf-8')
  }
  return out
}

;(async () => {
  const [dir, keyHex] = process.argv.slice(2)
  const ops = JSON.parse(await readStdin())
  const drive = keyHex ? Hyperdrive(dir, Buffer.from(keyHex, 'hex')) : Hyperdrive(dir)
  await p((cb) => drive.ready(cb))
  const results = []
  const marks = []
  for (const o of ops) {
    try {
      switch (o.op) {
        case 'writeFile': await p((cb) => drive.writeFile(o.path, dataOf(o.data), optsOf(o.opts), cb)); break
        case 'writeChunks': {
          // One write per chunk, each waited for, so the blocks are deterministic.
          const ws = drive.createWriteStream(o.path, optsOf(o.opts))
          for (const c of o.chunks) {
            await new Promise((resolve) => { if (ws.write(dataOf(c))) setImmediate(resolve); else ws.once('drain', resolve) })
          }
          await new Promise((resolve, reject) => { ws.on('error', reject); ws.end(resolve) })
          break
        }
        case 'mkdir': await p((cb) => drive.mkdir(o.path, optsOf(o.opts), cb)); break
        case 'symlink': await p((cb) => drive.symlink(o.target, o.path, cb)); break
        case 'unlink': await p((cb) => drive.unlink(o.path, cb)); break
        case 'rmdir': await p((cb) => drive.rmdir(o.path, cb)); break
        case 'setMetadata': await p((cb) => drive.setMetadata(o.path, o.key, Buffer.from(o.value, 'utf-8'), cb)); break
        case 'removeMetadata': await p((cb) => drive.removeMetadata(o.path, o.key, cb)); break
        case 'tag': await p((cb) => drive.createTag(o.name, cb)); break
        case 'deleteTag': await p((cb) => drive.deleteTag(o.name, cb)); break
        case 'mark': marks.push(drive.version); break
        default: throw new Error('unknown op ' + o.op)
      }
      results.push(null)
    } catch (err) {
      results.push(errorName(err))
    }
  }
  const content = await p((cb) => drive.getContent(cb))
  const out = {
    key: drive.key.toString('hex'),
    contentKey: content.key.toString('hex'),
    writable: drive.writable,
    results,
    marks
  }
  drive.close(() => console.log(JSON.stringify(out)))
})().catch((err) => { console.error(err); process.exit(1) })
