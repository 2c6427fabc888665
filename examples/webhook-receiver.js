// The receiver from the webhooks doc ("Testing locally"), verbatim but for two lines: the port
// and the secret may come from the environment. Run: WEBHOOK_SECRET=whsec_... node webhook-receiver.js
const http = require('http')
const crypto = require('crypto')
const PORT = process.env.PORT || 4545
const SECRET = process.env.WEBHOOK_SECRET || 'your-secret-here'
const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString()
    const signature = req.headers['x-webhook-signature'] || ''
    const expected = 'sha256=' + crypto
      .createHmac('sha256', SECRET)
      .update(body)
      .digest('hex')
    console.log(signature === expected ? 'Valid' : 'INVALID')
    console.log(JSON.stringify(JSON.parse(body), null, 2))
    res.writeHead(200)
    res.end('OK')
  })
})
server.listen(PORT, () => console.log(`Listening on :${PORT}`))
