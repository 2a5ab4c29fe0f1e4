// swarm_peer.js CONFIG_JSON: a Node hyperswarm 2.15 peer (the reference's discovery and
// connections) replicating a hyperdrive 10, for the C++ swarm's interop tests. Every address is
// local: `bootstrap` ([HOST:PORT]) names the DHT, and multicast DNS is replaced by a silent
// stand-in, so that nothing leaves the machine, unless `lan` is true (tests inside a namespace).
//   role "dht":  a persistent DHT node (@hyperswarm/dht, no bootstrap) on 127.0.0.1:`port`
//                (0: any); writes {port} to `infofile`; runs until `stopfile` appears.
//   role "seed": write `files` ([{path, data}], data as drive_common.js dataOf) into a new drive
//                in `dir`, join its discovery key (announce), replicate live with every peer;
//                write {key, port} to `infofile`; runs until `stopfile` appears, then prints
//                {uploadedBlocks, connections}.
//   role "read": open a sparse replica of `key` in `dir`, join its discovery key (lookup), and
//                read every path of `paths` once a peer is connected; prints {files: {path:
//                {size, fnv}}, connections, elapsedMs}. With `download` true, first reads every
//                file of the drive whole and reports {downloadMs, downloadedBytes} too.
// Exits 2 after `lifetime` ms whatever happens.
'use strict'
const fs = require('fs')
const { EventEmitter } = require('events')

const cfg = JSON.parse(process.argv[2])
// A multicast-dns that sends nothing and hears nothing, unless `lan` is true (only inside a
// network namespace of the test's own).
if (!cfg.lan) {
  require.cache[require.resolve('multicast-dns')] = {
    id: require.resolve('multicast-dns'),
    filename: require.resolve('multicast-dns'),
    loaded: true,
    exports: () => Object.assign(new EventEmitter(), { query () {}, response () {}, destroy () {} })
  }
}
const hyperswarm = require('hyperswarm')
const dht = require('@hyperswarm/dht')
const { Hyperdrive, dataOf, fnv, p } = require('./drive_common')

setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: 'lifetime exceeded' }))
  process.exit(2)
}, cfg.lifetime || 30000).unref()

function writeInfo (info) {
  fs.writeFileSync(cfg.infofile + '.tmp', JSON.stringify(info))
  fs.renameSync(cfg.infofile + '.tmp', cfg.infofile)
}

function untilStop (done) {
  const timer = setInterval(() => {
    if (fs.existsSync(cfg.stopfile)) {
      clearInterval(timer)
      done()
    }
  }, 10)
}

function swarmFor (drive, join, stats) {
  const swarm = hyperswarm({ bootstrap: cfg.bootstrap, ephemeral: true })
  swarm.on('connection', (socket, info) => {
    stats.connections++
    const stream = drive.replicate(info.client, { live: true })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => {})
  })
  swarm.join(drive.discoveryKey, join)
  return swarm
}

async function runDht () {
  const node = dht({ bootstrap: [], ephemeral: false })
  node.listen(cfg.port || 0, '127.0.0.1')
  await new Promise((resolve) => node.once('listening', resolve))
  writeInfo({ port: node.address().port })
  untilStop(() => { node.destroy(); process.stdout.write('{}'); process.exit(0) })
}

async function seed () {
  const drive = Hyperdrive(cfg.dir)
  await p((cb) => drive.ready(cb))
  for (const f of cfg.files || []) await p((cb) => drive.writeFile(f.path, dataOf(f.data), cb))
  const content = await p((cb) => drive.getContent(cb))
  let uploadedBlocks = 0
  content.on('upload', () => { uploadedBlocks++ })
  const stats = { connections: 0 }
  const swarm = swarmFor(drive, { announce: true, lookup: false }, stats)
  swarm.once('listening', () => {
    writeInfo({ key: drive.key.toString('hex'), port: swarm.address().port })
  })
  untilStop(() => {
    process.stdout.write(JSON.stringify({ uploadedBlocks, connections: stats.connections }))
    process.exit(0)
  })
}

async function read () {
  const started = Date.now()
  const drive = Hyperdrive(cfg.dir, Buffer.from(cfg.key, 'hex'), { sparse: true })
  await p((cb) => drive.ready(cb))
  const stats = { connections: 0 }
  const swarm = swarmFor(drive, { announce: false, lookup: true }, stats)
  await new Promise((resolve) => swarm.once('connection', () => resolve()))
  const out = {}
  if (cfg.download) {
    // Every file read through whole (streamed and dropped): all the content travels.
    let bytes = 0
    const walk = async (dir) => {
      for (const name of await p((cb) => drive.readdir(dir, cb))) {
        const path = (dir === '/' ? '' : dir) + '/' + name
        const st = await p((cb) => drive.stat(path, cb))
        if (st.isDirectory()) await walk(path)
        else {
          await new Promise((resolve, reject) => {
            drive.createReadStream(path).on('data', (d) => { bytes += d.length }).on('end', resolve).on('error', reject)
          })
        }
      }
    }
    await walk('/')
    out.downloadMs = Date.now() - started
    out.downloadedBytes = bytes
  }
  const files = {}
  for (const path of cfg.paths || []) {
    const buf = await p((cb) => drive.readFile(path, cb))
    files[path] = { size: buf.length, fnv: fnv(buf) }
  }
  Object.assign(out, { files, connections: stats.connections, elapsedMs: Date.now() - started })
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

const roles = { dht: runDht, seed, read }
roles[cfg.role]().catch((e) => {
  process.stdout.write(JSON.stringify({ error: e.message }))
  process.exit(1)
})
