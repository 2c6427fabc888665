<?php
// A webhook receiver in PHP that verifies every delivery before using it, served by PHP's
// built-in web server:
//
//     WEBHOOK_SECRET=whsec_... php -S 127.0.0.1:4545 php_receiver.php
//
// Prints "Valid" and the payload (on the server's console) for a genuine delivery; answers
// 401 to a forged one. In another server (nginx + PHP-FPM, Apache), the same code is the handler.

function signature_is_valid(string $body, string $header, string $secret): bool
{
    // HMAC-SHA256 of the raw body, keyed with the secret string, compared in constant time.
    $expected = 'sha256=' . hash_hmac('sha256', $body, $secret);
    return hash_equals($expected, $header);
}

$secret = getenv('WEBHOOK_SECRET') ?: 'your-secret-here';
$console = fopen('php://stdout', 'w');

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    exit;
}
$body = file_get_contents('php://input');  // the raw bytes: verify before parsing
if (!signature_is_valid($body, $_SERVER['HTTP_X_WEBHOOK_SIGNATURE'] ?? '', $secret)) {
    fwrite($console, "INVALID\n");
    http_response_code(401);
    exit;
}
$event = json_decode($body);  // objects, so the keys keep their order
fwrite($console, "Valid\n");
fwrite($console, json_encode($event, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n");
echo 'OK';
