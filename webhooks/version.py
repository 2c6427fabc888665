"""The service's version: in the User-Agent of every delivery, /metrics and the OpenAPI
document (CHANGELOG.md says what each one changed)."""
__version__ = "0.1.0"
