"""Where outside text and our own files are made safe: one sanitizer, one atomic writer.

Standard library only, imported by every layer; it imports nothing of trayapp.
"""
