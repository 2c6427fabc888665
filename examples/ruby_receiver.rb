# A webhook receiver in Ruby that verifies every delivery before using it.
#
#     WEBHOOK_SECRET=whsec_... ruby ruby_receiver.rb      # listens on 127.0.0.1:4545 (PORT changes it)
#
# Prints "Valid" and the payload for a genuine delivery; answers 401 to a forged one.
# WEBrick left Ruby's standard library in 3.0: Debian's `ruby` package brings it along
# (`ruby-webrick`); elsewhere, `gem install webrick`.
require 'json'
require 'openssl'
require 'webrick'

SECRET = ENV.fetch('WEBHOOK_SECRET', 'your-secret-here')
PORT = Integer(ENV.fetch('PORT', '4545'))
$stdout.sync = true

# HMAC-SHA256 of the raw body, keyed with the secret string, compared in constant time.
def signature_valid?(body, header)
  expected = 'sha256=' + OpenSSL::HMAC.hexdigest('SHA256', SECRET, body)
  OpenSSL.secure_compare(expected, header)
end

server = WEBrick::HTTPServer.new(BindAddress: '127.0.0.1', Port: PORT, AccessLog: [],
                                 Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN))
server.mount_proc '/' do |request, response|
  next response.status = 405 unless request.request_method == 'POST'

  body = request.body || '' # the raw bytes: verify before parsing
  if signature_valid?(body, request['X-Webhook-Signature'] || '')
    puts 'Valid'
    puts JSON.pretty_generate(JSON.parse(body))
    response.body = 'OK'
  else
    puts 'INVALID'
    response.status = 401
  end
end
%w[INT TERM].each { |signal| trap(signal) { server.shutdown } }
puts "Listening on :#{PORT}"
server.start
