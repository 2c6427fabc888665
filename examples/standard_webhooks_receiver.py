"""A receiver for webhooks in Standard Webhooks mode, verified with the `standardwebhooks`
library (https://www.standardwebhooks.com), which also rejects stale timestamps (replays).

    pip install flask standardwebhooks
    WEBHOOK_SECRET=whsec_... python standard_webhooks_receiver.py     # listens on :4545
"""
import json
import os

from flask import Flask, abort, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

verifier = Webhook(os.environ.get("WEBHOOK_SECRET", "whsec_" + "A" * 44))
app = Flask(__name__)


@app.post("/")
def receive():
    try:
        event = verifier.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError:
        print("INVALID", flush=True)
        abort(401)
    print("Valid", flush=True)
    print(json.dumps(event, indent=2), flush=True)
    return "OK"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "4545")))
