// Shared helpers of the drive interop scripts: deterministic contents, a content checksum,
// Stat and error descriptions in the JSON shape the C++ tests build.
'use strict'
const path = require('path')
const net = require('net')
const modules = path.join(__dirname, '..', 'node_modules')
const Hyperdrive = require(path.join(modules, 'hyperdrive'))
const { Stat } = require(path.join(modules, 'hyperdrive-schemas'))
// Reading the op list from stdin and promisifying callbacks are the core scripts' helpers.
const { readStdin, p } = require('./core_common')

// Byte j of generated content with this seed (the C++ tests use the same formula).
function genBytes (seed, size) {
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j++) b[j] = (seed * 131 + j * 7 + (j >> 9)) & 0xff
  return b
}

// The bytes an op's `data` describes: {text} or {seed, size}.
function dataOf (d) {
  if (!d) return Buffer.alloc(0)
  if (typeof d.text === 'string') return Buffer.from(d.text, 'utf-8')
  return genBytes(d.seed, d.size)
}

// 32-bit FNV-1a, as an unsigned number.
function fnv (buf) {
  let h = 0x811c9dc5
  for (let i = 0; i < buf.length; i++) {
    h ^= buf[i]
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function errorName (err) {
  if (err.errno === 2 || err.code === 'ENOENT') return 'NotFound'
  if (err.code === 'EEXIST') return 'Exists'
  if (err.code === 'ENOTEMPTY') return 'NotEmpty'
  return 'Error: ' + (err.code || err.message)
}

function describeStat (st) {
  const meta = []
  for (const k of Object.keys(st.metadata || {})) {
    const v = st.metadata[k]
    meta.push([k, v ? v.toString('hex') : null])
  }
  const out = {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    blocks: st.blocks,
    offset: st.offset,
    byteOffset: st.byteOffset,
    mtime: st.mtime.getTime(),
    ctime: st.ctime.getTime(),
    linkname: st.linkname || '',
    metadata: meta
  }
  if (st.mount) {
    out.mount = { key: st.mount.key.toString('hex'), version: st.mount.version || 0 }
  }
  return out
}

// Serves `drive` (its corestore, live) to every TCP connection on 127.0.0.1, any port;
// calls onListening(port) once listening.
function serveOverTcp (drive, onListening) {
  const server = net.createServer((socket) => {
    const stream = drive.replicate(false, { live: true })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => onListening(server.address().port))
  return server
}

// Connects to a serving peer on 127.0.0.1:port and replicates `drive` with it, live.
// onError(where, err), if given, hears of socket and stream errors.
function replicateOverTcp (drive, port, onError) {
  const socket = net.connect(port, '127.0.0.1')
  const stream = drive.replicate(true, { live: true })
  socket.pipe(stream).pipe(socket)
  socket.on('error', (e) => { if (onError) onError('socket', e) })
  stream.on('error', (e) => { if (onError) onError('stream', e) })
  return socket
}

module.exports = {
  Hyperdrive, Stat, genBytes, dataOf, fnv, readStdin, p, errorName, describeStat, serveOverTcp, replicateOverTcp
}
