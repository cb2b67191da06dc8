"""Build: the catalogue into out/, incrementally (fingerprints, manifest, the snapshot fast path).

Kept light: the snapshot and index modules must import without pydantic, Jinja or WeasyPrint.
"""
