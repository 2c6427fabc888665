"""A webhook receiver in Python (Flask) that verifies every delivery before using it.

    pip install flask
    WEBHOOK_SECRET=whsec_... python python_receiver.py      # listens on :4545

Prints "Valid" and the payload for a genuine delivery; answers 401 to a forged one. Retries
carry the same X-Webhook-Delivery id, so a delivery already handled is acknowledged again
without being processed twice.
"""
import hashlib
import hmac
import json
import os

from flask import Flask, abort, request

SECRET = os.environ.get("WEBHOOK_SECRET", "your-secret-here")
app = Flask(__name__)
handled: set[str] = set()  # use your database in real life


def signature_is_valid(body: bytes, header: str) -> bool:
    """HMAC-SHA256 of the raw body, keyed with the secret string, compared in constant time."""
    expected = "sha256=" + hmac.new(SECRET.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


@app.post("/")
def receive():
    body = request.get_data()  # the raw bytes: verify before parsing
    if not signature_is_valid(body, request.headers.get("X-Webhook-Signature", "")):
        print("INVALID", flush=True)
        abort(401)
    delivery = request.headers.get("X-Webhook-Delivery", "")
    if delivery in handled:
        return "", 200
    handled.add(delivery)
    event = json.loads(body)
    print("Valid", flush=True)
    print(json.dumps(event, indent=2), flush=True)
    return "OK"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "4545")))
