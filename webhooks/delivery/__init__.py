"""The delivery core: claim, sign, send, record, retry. Imports nothing from Flask."""
