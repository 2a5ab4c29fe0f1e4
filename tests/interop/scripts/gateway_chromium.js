// Plays a video from the HTTP gateway in a real headless Chromium (Debian's, driven with
// puppeteer-core): waits until it plays, seeks to its middle, waits until it has played on from
// there, and saves a screenshot. Prints JSON: the duration, where it seeked to, the time reached
// after the seek, the media errors seen, and what the browser's network layer received of the
// video (DevTools' Network events): the range requests it made and the bytes of their bodies.
//
//   node scripts/gateway_chromium.js <video URL> <screenshot.png> [chromium path]
const puppeteer = require('puppeteer-core')

async function main () {
  const [videoUrl, screenshot, chromium = '/usr/bin/chromium'] = process.argv.slice(2)
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
      '--disable-gpu', '--disable-dev-shm-usage']
  })
  try {
    const page = await browser.newPage()
    const cdp = await page.target().createCDPSession()
    await cdp.send('Network.enable')
    const requests = new Map()
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.url === videoUrl) requests.set(e.requestId, 0)
    })
    cdp.on('Network.dataReceived', (e) => {
      if (requests.has(e.requestId)) requests.set(e.requestId, requests.get(e.requestId) + e.dataLength)
    })
    await page.setViewport({ width: 800, height: 500 })
    await page.setContent(`<!DOCTYPE html><body style="margin:0;background:#222">
      <video id="v" muted autoplay playsinline width="640" height="360"></video></body>`)
    const result = await page.evaluate(async (src) => {
      const v = document.getElementById('v')
      const errors = []
      v.addEventListener('error', () => errors.push(v.error ? v.error.message || String(v.error.code) : 'error'))
      const until = (pred, ms, what) => new Promise((resolve, reject) => {
        const t0 = Date.now()
        const tick = () => {
          if (pred()) return resolve()
          if (errors.length) return reject(new Error('media error: ' + errors.join('; ')))
          if (Date.now() - t0 > ms) return reject(new Error('timed out waiting for ' + what))
          setTimeout(tick, 20)
        }
        tick()
      })
      v.src = src
      await v.play()
      await until(() => v.currentTime > 0.5, 30000, 'playback to start')
      const duration = v.duration
      const target = duration / 2
      v.currentTime = target
      await until(() => !v.seeking && v.currentTime >= target, 30000, 'the seek')
      const seekedTo = v.currentTime
      await until(() => v.currentTime > seekedTo + 1.5, 30000, 'playback after the seek')
      return { duration, seekedTo, after: v.currentTime, errors }
    }, videoUrl)
    await page.screenshot({ path: screenshot })
    result.requests = requests.size
    result.received = [...requests.values()].reduce((a, b) => a + b, 0)
    console.log(JSON.stringify(result))
  } finally {
    await browser.close()
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err))
  process.exit(1)
})
