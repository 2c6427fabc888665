"""Entry point: `flask` finds `app`, gunicorn serves `app:app`."""
from webhooks import create_app

app = create_app()
