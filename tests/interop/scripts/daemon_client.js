// daemon_client.js CONFIG_JSON: drives a Hyperdrive daemon (ours or the reference's) through the
// reference's own Node client, hyperdrive-daemon-client 1.16.0, which finds the daemon through
// `storage`/config.json as it does for its users. Prints one JSON object of what it saw.
//   scenario "tour":   the announcement's example and every drive operation the client has
//                      (files, streams with ranges and a big file, directories, symlinks,
//                      metadata, versions, checkouts, diff, watch, mounts, network, peers)
//   scenario "badtoken": the same daemon with a wrong token: the first call's error
//   scenario "write":  writes `files` ({path: text}) and `sized` ({path: bytes}, pseudo-random
//                      content) into a new drive (or drive `key`), configures it to be
//                      announced, prints {key}
//   scenario "download": gets drive `key`, downloads `path` (drive.download) and follows its
//                      progress as the reference exposes it (fileStats' downloadedBlocks) until
//                      done; cancels it (and a download of `other`, at once); prints the file
//                      stats of the whole drive before, once done, and after
//   scenario "read":   gets drive `key` (found through the daemon's swarm) and reads `paths`
//   scenario "peersockets": two daemons (`storage` and `other`, already connected): both join
//                      topic `topic`; the first sends to the second (found by its Noise key)
//                      until a message arrives, the second answers the alias it came from;
//                      prints what each received and the aliases
//   scenario "fuse":   the Fuse service (mount, unmount, info by path) of a daemon whose root
//                      drive is mounted at `mnt`, with files through the kernel mount
//   scenario "configs": the daemon's network configurations {keyhex: {lookup, announce,
//                      remember}}
'use strict'
const crypto = require('crypto')
const { HyperdriveClient } = require('hyperdrive-daemon-client')

const cfg = JSON.parse(process.argv[2])

function collect (stream) {
  return new Promise((resolve, reject) => {
    const bufs = []
    stream.on('data', d => bufs.push(Buffer.from(d)))
    stream.on('error', reject)
    stream.on('end', () => resolve(Buffer.concat(bufs)))
  })
}

function bytesOf (size, seed) {
  const out = Buffer.alloc(size)
  let x = seed >>> 0
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const sha = b => crypto.createHash('sha256').update(b).digest('hex')

async function writeStream (drive, path, data, opts) {
  const ws = drive.createWriteStream(path, opts)
  await new Promise((resolve, reject) => {
    ws.on('error', reject)
    ws.on('finish', resolve)
    for (let i = 0; i < data.length; i += 1 << 20) ws.write(data.slice(i, i + (1 << 20)))
    ws.end()
  })
}

async function tour (client) {
  const out = {}
  const status = await client.status()
  out.apiVersion = status.apiVersion
  out.noiseKey = status.noiseKey.toString('hex')

  // The announcement's example.
  const drive = await client.drive.get()
  out.key = drive.key.toString('hex')
  out.writable = drive.writable
  await drive.writeFile('foo.txt', 'bar')
  out.foo = (await drive.readFile('foo.txt')).toString('utf8')

  // Streams, ranges and a 40 MB file.
  const big = bytesOf(40 * 1000 * 1000, 7)
  await writeStream(drive, '/big.bin', big)
  const back = await collect(drive.createReadStream('/big.bin'))
  out.bigSize = back.length
  out.bigSame = sha(back) === sha(big)
  out.bigReadFileSame = sha(await drive.readFile('/big.bin')) === sha(big)
  const range = await collect(drive.createReadStream('/big.bin', { start: 1000, end: 1999 }))
  out.rangeEndSame = range.equals(big.slice(1000, 2000))
  const byLength = await collect(drive.createReadStream('/big.bin', { start: 5000000, length: 123 }))
  out.rangeLengthSame = byLength.equals(big.slice(5000000, 5000123))

  // Directories, symlinks, stats and metadata.
  await drive.mkdir('/dir')
  await drive.writeFile('/dir/a.txt', 'aaa', { metadata: { hello: Buffer.from('world') } })
  await drive.symlink('/dir/a.txt', '/link')
  const listing = await drive.readdir('/', { recursive: true, includeStats: true })
  out.listing = listing.map(e => ({ name: e.name, dir: e.stat.isDirectory(), file: e.stat.isFile(), size: e.stat.size })).sort((a, b) => a.name < b.name ? -1 : 1)
  out.names = (await drive.readdir('/')).sort()
  const st = await drive.stat('/dir/a.txt')
  out.statSize = st.size
  out.statMetadata = Object.fromEntries(Object.entries(st.metadata || {}).map(([k, v]) => [k, Buffer.from(v).toString()]))
  await drive.updateMetadata('/dir/a.txt', { extra: Buffer.from('1') })
  await drive.deleteMetadata('/dir/a.txt', ['hello'])
  const st2 = await drive.stat('/dir/a.txt')
  out.updatedMetadata = Object.fromEntries(Object.entries(st2.metadata || {}).map(([k, v]) => [k, Buffer.from(v).toString()]))
  const lst = await drive.lstat('/link')
  out.linkname = lst.linkname
  out.linkIsSymlink = lst.isSymbolicLink()
  out.linkTarget = (await drive.readFile('/link')).toString()
  out.fileStats = Object.fromEntries(await drive.fileStats('/dir/a.txt'))
  try {
    await drive.stat('/missing')
    out.missing = 'found'
  } catch (err) {
    out.missing = err.code
  }
  try {
    await drive.readFile('../../etc/passwd')
    out.escape = 'read'
  } catch (err) {
    out.escape = err.code
  }

  // Versions, checkouts and diffs.
  const v1 = await drive.version()
  await drive.writeFile('/later.txt', 'later')
  await drive.writeFile('foo.txt', 'baz')
  const v2 = await drive.version()
  out.versionsGrow = v2 > v1
  const old = await drive.checkout(v1)
  out.oldFoo = (await old.readFile('foo.txt')).toString()
  out.oldWritable = old.writable
  try {
    await old.readFile('/later.txt')
    out.oldLater = 'found'
  } catch (err) {
    out.oldLater = err.code
  }
  const diff = await collect2(await drive.createDiffStream(v1))
  out.diff = diff.map(d => d.type + ' ' + d.name).sort()

  // Watch: a write below the path wakes it; the second message stops it.
  let woken = 0
  const woke = new Promise(resolve => {
    const unwatch = drive.watch('/dir', () => {
      woken++
      unwatch()
      resolve()
    })
    setTimeout(() => drive.writeFile('/dir/b.txt', 'b'), 200)
  })
  await woke
  out.watchCalls = woken

  // Mounts.
  const other = await client.drive.get()
  await other.writeFile('/inside.txt', 'mounted')
  await drive.mount('/mnt', { key: other.key })
  out.throughMount = (await drive.readFile('/mnt/inside.txt')).toString()
  out.mounts = (await drive.mounts()).map(m => ({ path: m.path, key: m.opts.key.toString('hex') }))
  out.otherKey = other.key.toString('hex')
  await drive.unmount('/mnt')
  try {
    await drive.readFile('/mnt/inside.txt')
    out.afterUnmount = 'found'
  } catch (err) {
    out.afterUnmount = err.code
  }

  // Unlink and rmdir.
  await drive.unlink('/dir/b.txt')
  await drive.unlink('/dir/a.txt')
  await drive.rmdir('/dir')
  out.afterRemove = (await drive.readdir('/')).sort()

  // The network.
  await drive.configureNetwork({ announce: true, lookup: true, remember: true })
  const configs = await client.drive.allNetworkConfigurations()
  out.networkConfig = configs.get(out.key) || null
  const stats = await drive.stats()
  out.statsMetadataBlocks = stats.stats[0].metadata.totalBlocks
  out.statsContentBytes = stats.stats[0].content.totalBytes
  out.peers = (await client.peers.listPeers()).length
  out.peerCounts = await client.drive.peerCounts([drive.key])

  await old.close()
  await other.close()
  await drive.close()
  return out
}

function collect2 (stream) {
  return new Promise((resolve, reject) => {
    const all = []
    stream.on('data', d => all.push(d))
    stream.on('error', reject)
    stream.on('end', () => resolve(all))
  })
}

async function download (client) {
  const drive = await client.drive.get({ key: Buffer.from(cfg.key, 'hex') })
  const held = async path => {
    const out = {}
    for (const [p, s] of await drive.fileStats(path)) {
      out[p] = { blocks: s.blocks, downloadedBlocks: s.downloadedBlocks }
    }
    return out
  }
  const before = await held('/')
  const dl = await drive.download(cfg.path)
  // No event tells a client that a download is done: it sees the blocks arrive in fileStats,
  // as with the reference daemon. Asked again each time the last answer came back.
  const deadline = Date.now() + 30000
  let polls = 0
  for (;;) {
    const now = await held(cfg.path)
    polls++
    if (Object.values(now).every(s => s.downloadedBlocks === s.blocks)) break
    if (Date.now() > deadline) throw new Error('not downloaded within 30 s: ' + JSON.stringify(now))
    await new Promise(resolve => setImmediate(resolve))
  }
  const done = await held('/')
  await dl.destroy() // a finished download: cancelling it is no error
  const other = await drive.download(cfg.other)
  await other.destroy()
  const after = await held('/')
  return { before, done, after, polls }
}

async function peersockets (client) {
  const other = new HyperdriveClient({ storage: cfg.other })
  await other.ready()
  try {
    const keyA = (await client.status()).noiseKey
    const keyB = (await other.status()).noiseKey
    const aliasOfB = await client.peers.getAlias(keyB) // B as the first daemon names it
    const got = { a: [], b: [] }
    let answered
    const answeredA = new Promise(resolve => { answered = resolve })
    let topicB = null
    const topicA = client.peersockets.join(cfg.topic, {
      onmessage: (alias, msg) => {
        got.a.push({ alias, msg: msg.toString() })
        answered()
      }
    })
    topicB = other.peersockets.join(cfg.topic, {
      onmessage: (alias, msg) => {
        got.b.push({ alias, msg: msg.toString() })
        if (got.b.length === 1) topicB.send(alias, Buffer.from('hello from b'))
      }
    })
    // A message is delivered only once the receiver has joined, and a client is not told when
    // that is: the first daemon says hello again each time the last one may have been early,
    // until the answer comes (or the deadline).
    let n = 0
    const hello = () => topicA.send(aliasOfB, Buffer.from('hello from a ' + n++))
    hello()
    const timer = setInterval(hello, 200)
    const deadline = new Promise((resolve, reject) => setTimeout(() => reject(new Error(
      'no answer within 20 s: ' + JSON.stringify(got))), 20000))
    try {
      await Promise.race([answeredA, deadline])
    } finally {
      clearInterval(timer)
    }
    const aliasOfA = await other.peers.getAlias(keyA) // A as the second daemon names it
    topicA.close()
    topicB.close()
    return { got, aliasOfA, aliasOfB, sent: n }
  } finally {
    other.close()
  }
}

// The Fuse service, against a daemon whose root drive is mounted at `mnt`: info, mount (a new
// drive, and an existing one by key), files written and read through the kernel mount,
// unmount, and the errors of what it refuses.
async function fuseScenario (client) {
  const fs = require('fs')
  const mnt = cfg.mnt
  const out = {}
  const code = async (f) => { try { await f(); return 0 } catch (err) { return err.code } }
  out.rootInfo = await client.fuse.info(mnt)
  const created = await client.fuse.mount(mnt + '/made')
  out.createdPath = created.path
  out.createdKey = created.mountInfo.key.toString('hex')
  out.createdWritable = created.mountInfo.writable
  fs.writeFileSync(mnt + '/made/hello.txt', 'hello through fuse')
  out.madeInfo = await client.fuse.info(mnt + '/made/sub/hello.txt')
  const made = await client.drive.get({ key: created.mountInfo.key })
  out.madeRead = (await made.readFile('hello.txt')).toString()
  await made.close()
  const other = await client.drive.get()
  await other.writeFile('x.txt', 'from the drive service')
  const otherKey = other.key.toString('hex')
  await other.close()
  const byKey = await client.fuse.mount(mnt + '/made/nested', { key: otherKey })
  out.byKeySame = byKey.mountInfo.key.toString('hex') === otherKey
  out.nestedRead = fs.readFileSync(mnt + '/made/nested/x.txt', 'utf8')
  out.nestedInfo = await client.fuse.info(mnt + '/made/nested/x.txt')
  out.otherKey = otherKey
  await client.fuse.unmount(mnt + '/made/nested')
  out.nestedGone = !fs.existsSync(mnt + '/made/nested/x.txt')
  out.networkInfo = await client.fuse.info(mnt + '/Network/' + otherKey + '/x.txt')
  out.errors = {
    mountUnderNetwork: await code(() => client.fuse.mount(mnt + '/Network/' + otherKey + '/m')),
    outside: await code(() => client.fuse.info('/tmp')),
    relative: await code(() => client.fuse.info('made')),
    unmountRoot: await code(() => client.fuse.unmount(mnt)),
    badKey: await code(() => client.fuse.mount(mnt + '/bad', { key: Buffer.alloc(5) })),
    itself: await code(() => client.fuse.mount(mnt + '/self', { key: out.rootInfo.key }))
  }
  return out
}

async function main () {
  const opts = { storage: cfg.storage }
  if (cfg.scenario === 'badtoken') {
    const good = new HyperdriveClient(opts)
    await good.ready()
    const bad = new HyperdriveClient(good.endpoint, 'not-the-token')
    good.close()
    try {
      await bad.ready()
      return { error: null }
    } catch (err) {
      return { error: err.code, details: err.details }
    } finally {
      bad.close()
    }
  }
  const client = new HyperdriveClient(opts)
  await client.ready()
  try {
    if (cfg.scenario === 'tour') return await tour(client)
    if (cfg.scenario === 'write') {
      const drive = await client.drive.get(cfg.key ? { key: Buffer.from(cfg.key, 'hex') } : {})
      for (const [path, text] of Object.entries(cfg.files || {})) await drive.writeFile(path, text)
      for (const [path, size] of Object.entries(cfg.sized || {})) {
        await drive.writeFile(path, bytesOf(size, size))
      }
      await drive.configureNetwork({ announce: true, lookup: true, remember: true })
      return { key: drive.key.toString('hex') }
    }
    if (cfg.scenario === 'download') return await download(client)
    if (cfg.scenario === 'fuse') return await fuseScenario(client)
    if (cfg.scenario === 'peersockets') return await peersockets(client)
    if (cfg.scenario === 'configs') {
      const configs = await client.drive.allNetworkConfigurations()
      return { configs: Object.fromEntries(configs) }
    }
    if (cfg.scenario === 'read') {
      const drive = await client.drive.get({ key: Buffer.from(cfg.key, 'hex') })
      const files = {}
      for (const path of cfg.paths) files[path] = (await drive.readFile(path)).toString()
      return { files }
    }
    throw new Error('unknown scenario ' + cfg.scenario)
  } finally {
    client.close()
  }
}

main().then(out => {
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(0)
}, err => {
  process.stderr.write((err && err.stack) || String(err))
  process.stderr.write('\n')
  process.exit(1)
})
