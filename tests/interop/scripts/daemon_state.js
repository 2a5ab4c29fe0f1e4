// The Node Hyperdrive daemon 1.14.5 and its state database (storage/db under its root), for the
// C++ daemon-state tests. Run inside a network namespace of the test's own: the daemon binds its
// gRPC port and its swarm on every interface. Its DHT is a bootstrap node of this script's own on
// 127.0.0.1 (the daemon's announces and lookups are answered there, never on the internet).
//
// usage: node daemon_state.js write <root> <port>
//   Starts the daemon on <root>, and through its own client (which finds it by <root>/config.json):
//   drive A (new, writable) gets foo.txt = "bar" and configureNetwork {announce, lookup, remember};
//   drive B (new) configureNetwork {lookup, remember} (no announce); drive C is mirrored; drive D
//   configureNetwork {announce, lookup} without remember (kept in memory only). The daemon
//   cannot mount FUSE here, so the root-drive record is put through the daemon's own `fuse`
//   sublevel as its FUSE manager puts it after mounting A as the root. Stops the daemon and
//   prints {drives: {A: {key, discoveryKey}, ...}, mnt, raw: [[key hex, value hex], ...]} with
//   every entry of the LevelDB in key order.
// usage: node daemon_state.js restore <root> <port>
//   Starts the daemon on a root (one written by us) and prints what it restored: the root drive
//   record, the remembered network configurations {dk: {key, opts}}, the swarm status of each
//   {dk: {announce, lookup}}, the drives it mirrors again [key], the drive index [{key, value}];
//   then stops it.
'use strict'
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const HyperdriveDaemon = require(path.join(modules, 'hyperdrive-daemon'))
const { HyperdriveClient } = require(path.join(modules, 'hyperdrive-daemon-client'))
const constants = require(path.join(modules, 'hyperdrive-daemon-client', 'lib', 'constants'))
const level = require(path.join(modules, 'level'))
const dht = require(path.join(modules, '@hyperswarm', 'dht'))

function hex (b) { return Buffer.from(b).toString('hex') }

// A DHT of one node on 127.0.0.1, the daemon's bootstrap; resolves with the node and its port.
function startBootstrap () {
  const node = dht({ bootstrap: [], ephemeral: false })
  return new Promise((resolve, reject) => {
    node.once('error', reject)
    node.once('listening', () => resolve({ node, port: node.address().port }))
    node.listen(0, '127.0.0.1')
  })
}

async function startDaemon (root, port) {
  const boot = await startBootstrap()
  const daemon = new HyperdriveDaemon({
    storage: root,
    port: Number(port),
    bootstrap: ['127.0.0.1:' + boot.port],
    noDebug: true
  })
  await daemon.start()
  return {
    daemon,
    async stop () {
      await daemon.stop()
      boot.node.destroy()
    }
  }
}

async function dumpDb (dir) {
  const db = level(dir, { keyEncoding: 'binary', valueEncoding: 'binary' })
  const raw = []
  await new Promise((resolve, reject) => {
    db.createReadStream()
      .on('data', ({ key, value }) => raw.push([hex(key), hex(value)]))
      .on('error', reject)
      .on('end', resolve)
  })
  await db.close()
  return raw
}

async function write (root, port) {
  const { daemon, stop } = await startDaemon(root, port)
  const client = new HyperdriveClient({ storage: root })
  await client.ready()
  const drives = {}
  const describe = (d) => ({ key: hex(d.key), discoveryKey: hex(d.discoveryKey) })

  const a = await client.drive.get()
  await a.writeFile('foo.txt', 'bar')
  await a.configureNetwork({ announce: true, lookup: true, remember: true })
  drives.A = describe(a)
  const b = await client.drive.get()
  await b.configureNetwork({ announce: false, lookup: true, remember: true })
  drives.B = describe(b)
  const c = await client.drive.get()
  await c.mirror()
  drives.C = describe(c)
  const d = await client.drive.get()
  await d.configureNetwork({ announce: true, lookup: true, remember: false })
  drives.D = describe(d)

  // What the FUSE manager stores once it has mounted the root drive (lib/fuse, mountRoot).
  const mnt = constants.mountpoint
  await daemon.fuse.db.put('root-drive', { mnt, opts: { key: drives.A.key } })

  for (const drive of [a, b, c, d]) await drive.close()
  await client.close()
  await stop()
  const raw = await dumpDb(path.join(root, 'storage', 'db'))
  return { drives, mnt, raw }
}

async function restore (root, port) {
  const { daemon, stop } = await startDaemon(root, port)
  const rootDrive = await daemon.fuse._getRootDriveInfo()
  // The remembered configurations, as the daemon reads them from its seeding index.
  const seeding = {}
  await new Promise((resolve, reject) => {
    daemon.drives._seedIndex.createReadStream()
      .on('data', ({ key, value }) => { seeding[key] = value })
      .on('error', reject)
      .on('end', resolve)
  })
  const joined = {}
  for (const dk of Object.keys(seeding)) {
    const status = daemon.networking.status(Buffer.from(dk, 'hex'))
    if (status) joined[dk] = { announce: !!status.announce, lookup: !!status.lookup }
  }
  const mirrors = [...daemon.drives._mirrors.keys()].sort()
  const drives = (await daemon.drives.listDrives()).map(({ key, value }) => ({ key, value }))
  await stop()
  return { rootDrive, seeding, joined, mirrors, drives }
}

;(async () => {
  const [mode, root, port] = process.argv.slice(2)
  const out = mode === 'write' ? await write(root, port) : await restore(root, port)
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(0)
})().catch((err) => {
  process.stderr.write((err && err.stack) || String(err))
  process.exit(1)
})
