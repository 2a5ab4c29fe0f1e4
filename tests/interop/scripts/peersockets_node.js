// peersockets_node.js CONFIG_JSON: the reference's own peersockets module (0.3.4, what
// hyperdrive-daemon 1.14.5 runs its Peersockets service on) on a hypercore-protocol 8 stream,
// against one of our daemons. CONFIG_JSON: {storage, port, topic}: `storage` is the daemon's
// root (its Node client finds it there), `port` its swarm's TCP port on 127.0.0.1.
// The script dials the daemon, gives the stream to peersockets as a swarm networker would, and
// joins `topic`; the daemon's client joins it too and answers each message with "pong: " and
// the message, to the alias it came from. Node says hello (again while no answer came: a
// message is lost when the other side has not joined yet) until the answer arrives. Prints
// {node: [{from, msg}], daemon: [{alias, msg}], nodeKey, daemonKey, aliasOfNode}.
'use strict'
const net = require('net')
const { EventEmitter } = require('events')
const Protocol = require('hypercore-protocol')
// The peersockets the Node daemon itself loads (a dependency of hyperdrive-daemon 1.14.5).
const Peersockets = require(require.resolve('peersockets', {
  paths: [require.resolve('hyperdrive-daemon')]
}))
const { HyperdriveClient } = require('hyperdrive-daemon-client')

const cfg = JSON.parse(process.argv[2])

async function main () {
  const client = new HyperdriveClient({ storage: cfg.storage })
  await client.ready()
  const daemonKey = (await client.status()).noiseKey
  const networker = new EventEmitter() // what peersockets needs of corestore-swarm-networking
  networker.corestore = null
  const peersockets = new Peersockets(networker)
  const stream = new Protocol(true)
  const socket = net.connect(cfg.port, '127.0.0.1')
  socket.pipe(stream).pipe(socket)
  socket.on('error', () => {})
  await new Promise((resolve, reject) => {
    stream.once('handshake', resolve)
    stream.once('error', reject)
  })
  networker.emit('handshake', stream, {})
  const got = { node: [], daemon: [] }
  let answered
  const answer = new Promise(resolve => { answered = resolve })
  const handle = peersockets.join(cfg.topic, {
    onmessage: (remoteKey, msg) => {
      got.node.push({ from: remoteKey.toString('hex'), msg: msg.toString() })
      answered()
    }
  })
  const topic = client.peersockets.join(cfg.topic, {
    onmessage: (alias, msg) => {
      got.daemon.push({ alias, msg: msg.toString() })
      topic.send(alias, Buffer.concat([Buffer.from('pong: '), msg]))
    }
  })
  let n = 0
  const hello = () => handle.send(daemonKey, Buffer.from('hello from node ' + n++))
  hello()
  const timer = setInterval(hello, 200)
  const deadline = new Promise((resolve, reject) => setTimeout(() => reject(new Error(
    'no answer within 20 s: ' + JSON.stringify(got))), 20000))
  try {
    await Promise.race([answer, deadline])
  } finally {
    clearInterval(timer)
  }
  const aliasOfNode = await client.peers.getAlias(stream.publicKey)
  topic.close()
  handle.close()
  peersockets.leave(cfg.topic)
  stream.destroy()
  client.close()
  return {
    ...got,
    nodeKey: stream.publicKey.toString('hex'),
    daemonKey: daemonKey.toString('hex'),
    aliasOfNode
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
