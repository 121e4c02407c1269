"""Where outside text and our own files are made safe: one sanitizer, one atomic writer, and
the fence that keeps credential-looking text off every screen (``secrets.redact``).

Standard library only, imported by every layer; it imports nothing of trayapp.
"""
