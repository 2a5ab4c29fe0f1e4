// mdns_peer.js CONFIG_JSON: Node @hyperswarm/discovery 2.0.1 (multicast-dns 7) on the LAN side
// only, for the C++ LAN discovery interop tests. Run it ONLY inside a network namespace of the
// test's own (the tests make one): it multicasts to 224.0.0.251:5353. The DHT side is given no
// bootstrap node, so nothing leaves for the public DHT.
//   mode "capture": a Discovery announces `topic` on TCP port `port` and looks it up; a plain
//                   UDP socket on the group records what goes by until it saw the lookup's
//                   query, the announce's unsolicited answer and the answer to the query.
//                   Prints { packets: [hex...] } in the order received.
//   mode "meet":    announces `topic` on `port` and looks up `ourTopic`; once a peer of
//                   `ourTopic` was found, also looks up `ackTopic` (which the other side
//                   announces once it found `topic`). Prints { found: "HOST:PORT", ack: ... }
//                   when both were found.
// Exits 2 after `lifetime` ms whatever happens.
'use strict'
const dgram = require('dgram')
const discovery = require('@hyperswarm/discovery')

const cfg = JSON.parse(process.argv[2])
const buf = (h) => Buffer.from(h, 'hex')

setTimeout(() => {
  process.stderr.write('mdns_peer.js: out of time\n')
  process.exit(2)
}, cfg.lifetime || 15000).unref()

function fail (err) {
  process.stderr.write('mdns_peer.js: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
}

function finish (d, out) {
  d.destroy({ force: true })
  console.log(JSON.stringify(out))
  process.exit(0)
}

function capture () {
  const packets = []
  let queries = 0
  let responses = 0
  let withReferrer = 0
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  sock.on('error', fail)
  sock.on('message', (msg) => {
    packets.push(msg.toString('hex'))
    if (msg.length < 12) return
    if (msg[2] & 0x80) {
      responses++
      if (msg.includes(Buffer.from('referrer'))) withReferrer++
    } else {
      queries++
    }
    if (queries >= 1 && responses >= 2 && withReferrer >= 1) finish(d, { packets })
  })
  let d = null
  sock.bind(5353, () => {
    sock.addMembership('224.0.0.251', '127.0.0.1')
    d = discovery({ bootstrap: [], ephemeral: true })
    d.announce(buf(cfg.topic), { port: cfg.port, lookup: true })
  })
}

function meet () {
  const d = discovery({ bootstrap: [], ephemeral: true })
  d.announce(buf(cfg.topic), { port: cfg.port })
  let found = null
  d.lookup(buf(cfg.ourTopic)).on('peer', (peer) => {
    if (found) return
    found = peer.host + ':' + peer.port
    d.lookup(buf(cfg.ackTopic)).on('peer', (ack) => {
      finish(d, { found, ack: ack.host + ':' + ack.port })
    })
  })
}

if (cfg.mode === 'capture') capture()
else if (cfg.mode === 'meet') meet()
else fail('unknown mode ' + cfg.mode)
