// Golden vectors of the Noise XX handshake as noise-protocol 3.0.1 computes it, with fixed
// static and ephemeral keys (seeds 1..4) and fixed payloads, and of the XSalsa20 stream.
// Prints the three messages, both splits and the handshake hash as hex.
'use strict'
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const noise = require(path.join(modules, 'noise-protocol'))
const XSalsa20 = require(path.join(modules, 'xsalsa20-universal'))

const seed = (b) => Buffer.alloc(32, b)
const is = noise.seedKeygen(seed(1))
const ie = noise.seedKeygen(seed(2))
const rs = noise.seedKeygen(seed(3))
const re = noise.seedKeygen(seed(4))
// noise-protocol takes no ephemeral key for XX, so hand out the fixed ones in turn.
const dh = require(path.join(modules, 'noise-protocol', 'dh'))
const ephemerals = [ie, re]
dh.generateKeypair = (pk, sk) => {
  const e = ephemerals.shift()
  pk.set(e.publicKey)
  sk.set(e.secretKey)
}
const init = noise.initialize('XX', true, Buffer.alloc(0), is)
const resp = noise.initialize('XX', false, Buffer.alloc(0), rs)
const buf = Buffer.alloc(65535)
const pay = Buffer.alloc(65535)
const out = { messages: [], payloads: [] }

function step (writer, reader, payload) {
  const wsplit = noise.writeMessage(writer, payload, buf)
  const msg = Buffer.from(buf.subarray(0, noise.writeMessage.bytes))
  const rsplit = noise.readMessage(reader, msg, pay)
  out.messages.push(msg.toString('hex'))
  out.payloads.push(Buffer.from(pay.subarray(0, noise.readMessage.bytes)).toString('hex'))
  return [wsplit, rsplit]
}
step(init, resp, Buffer.from('first'))
step(resp, init, Buffer.from('second'))
const [isplit, rsplit] = step(init, resp, Buffer.from('third'))
const hex = (b) => Buffer.from(b.subarray(0, 32)).toString('hex')
out.initiator = { rx: hex(isplit.rx), tx: hex(isplit.tx) }
out.responder = { rx: hex(rsplit.rx), tx: hex(rsplit.tx) }

// XSalsa20 key stream over odd slicing: 1000 zero bytes in pieces of 1, 63, 100, 836.
const x = new XSalsa20(Buffer.alloc(24, 7), Buffer.alloc(32, 9))
const parts = [1, 63, 100, 836].map((n) => { const b = Buffer.alloc(n); x.update(b, b); return b })
out.xsalsa20 = Buffer.concat(parts).toString('hex')
console.log(JSON.stringify(out))
