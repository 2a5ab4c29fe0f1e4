// dht_peer.js CONFIG_JSON: Node @hyperswarm/dht 4.0.1 nodes for the C++ DHT interop tests.
// Every node binds 127.0.0.2 and is given explicit bootstrap addresses (never the public list).
//   mode "messages": prints reference encodings of dht-rpc Messages and PeersInput/Output
//                    (golden vectors for the codec test), then exits.
//   mode "bootstrap-and-announce": a persistent bootstrap on 127.0.0.2:`bootstrapPort`; a
//                    second node announces `topic` through it; then looks `ourTopic` up again
//                    and again until someone announced it. Prints { announcer, found }.
//   mode "two-nodes": two nodes bootstrapped through `bootstrap` (HOST:PORT): the first
//                    announces `topic`, then the second looks it up. Prints { announcer, found }.
//   mode "mixed":    `count` persistent nodes, the first on `bootstrapPort` with no bootstrap
//                    (Node hosts the swarm's bootstrap) or all through `bootstrap` (HOST:PORT,
//                    ours hosts it). Node 0 announces `topicA`; the last node looks `topicB`
//                    (announced by ours) up until found; then all stay until a lookup of
//                    `doneTopic` finds something (ours announce it once they found topicA).
//                    Prints { announcer, found, answers (records of B answered), doneFound }.
// Exits 2 after `lifetime` ms whatever happens.
'use strict'
const dht = require('@hyperswarm/dht')
const { Message } = require('dht-rpc/lib/messages')
const { PeersInput, PeersOutput } = require('@hyperswarm/dht/messages')

const cfg = JSON.parse(process.argv[2])
const hex = (b) => Buffer.from(b).toString('hex')
const buf = (h) => Buffer.from(h, 'hex')
const nodes = []

setTimeout(() => {
  process.stderr.write('dht_peer.js: out of time\n')
  process.exit(2)
}, cfg.lifetime || 20000).unref()

function finish (out) {
  for (const n of nodes) n.destroy()
  console.log(JSON.stringify(out))
  process.exit(0)
}

function fail (err) {
  process.stderr.write('dht_peer.js: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
}

// Binds at once (before the node's first bootstrap, on the next tick, binds any address) and
// resolves with the port once listening.
function listen (node, port) {
  const listening = new Promise((resolve, reject) => {
    node.once('error', reject)
    node.once('listening', () => resolve(node.address().port))
  })
  node.listen(port, '127.0.0.2')
  return listening
}

function ready (node) {
  return new Promise((resolve) => node.ready(resolve))
}

function run (fn) {
  return new Promise((resolve, reject) => fn((err, res) => err ? reject(err) : resolve(res)))
}

async function lookupUntilFound (node, topic) {
  for (;;) {
    const res = await run((cb) => node.lookup(topic, cb)).catch(() => [])
    const found = []
    for (const r of res) for (const p of r.peers || []) found.push(p.host + ':' + p.port)
    if (found.length) return found
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function main () {
  if (cfg.mode === 'messages') {
    const out = {}
    out.query = hex(Message.encode({ version: 1, type: 1, rid: 4660, to: buf('7f000002c000'), id: Buffer.alloc(32, 0xaa), target: Buffer.alloc(32, 0xbb), command: 'peers', value: PeersInput.encode({ port: 49737, localAddress: buf('c0a80414c249') }) }))
    out.response = hex(Message.encode({ version: 1, type: 3, rid: 65535, to: buf('7f000001c001'), id: Buffer.alloc(32, 0x11), closerNodes: Buffer.alloc(76, 0x22), roundtripToken: Buffer.alloc(32, 0x33), value: PeersOutput.encode({ peers: buf('7f000002c002'), localPeers: buf('0414c249') }) }))
    out.error = hex(Message.encode({ version: 1, type: 3, rid: 0, error: 'Unsupported command' }))
    out.update = hex(Message.encode({ version: 1, type: 2, rid: 1, roundtripToken: Buffer.alloc(32, 1), target: Buffer.alloc(32, 2), command: 'peers', value: PeersInput.encode({ unannounce: true }) }))
    out.emptyOutput = hex(PeersOutput.encode({ peers: null, localPeers: null }))
    return finish(out)
  }
  if (cfg.mode === 'bootstrap-and-announce') {
    const boot = dht({ bootstrap: [], ephemeral: false })
    nodes.push(boot)
    await listen(boot, cfg.bootstrapPort)
    const announcer = dht({ bootstrap: ['127.0.0.2:' + cfg.bootstrapPort], ephemeral: false })
    nodes.push(announcer)
    const port = await listen(announcer, 0)
    await ready(announcer)
    await run((cb) => announcer.announce(buf(cfg.topic), cb))
    const found = await lookupUntilFound(announcer, buf(cfg.ourTopic))
    return finish({ announcer: '127.0.0.2:' + port, found })
  }
  if (cfg.mode === 'two-nodes') {
    const a = dht({ bootstrap: [cfg.bootstrap], ephemeral: false })
    const b = dht({ bootstrap: [cfg.bootstrap], ephemeral: false })
    nodes.push(a, b)
    const listenA = listen(a, 0)
    const listenB = listen(b, 0)
    const port = await listenA
    await listenB
    await ready(a)
    await ready(b)
    await run((cb) => a.announce(buf(cfg.topic), cb))
    const found = await lookupUntilFound(b, buf(cfg.topic))
    return finish({ announcer: '127.0.0.2:' + port, found })
  }
  if (cfg.mode === 'mixed') {
    const hostsBoot = !cfg.bootstrap
    const boot = hostsBoot ? '127.0.0.2:' + cfg.bootstrapPort : cfg.bootstrap
    const ports = []
    for (let i = 0; i < cfg.count; i++) {
      const n = dht({ bootstrap: hostsBoot && i === 0 ? [] : [boot], ephemeral: false })
      nodes.push(n)
      ports.push(await listen(n, hostsBoot && i === 0 ? cfg.bootstrapPort : 0))
    }
    await Promise.all(nodes.map(ready))
    await run((cb) => nodes[0].announce(buf(cfg.topicA), cb))
    const found = await lookupUntilFound(nodes[nodes.length - 1], buf(cfg.topicB))
    const doneFound = await lookupUntilFound(nodes[1], buf(cfg.doneTopic))
    // Each node that holds a record answers it: distinct peers, and how many answers carried them.
    return finish({ announcer: '127.0.0.2:' + ports[0], found: [...new Set(found)], answers: found.length, doneFound: [...new Set(doneFound)] })
  }
  fail('unknown mode ' + cfg.mode)
}

main().catch(fail)
