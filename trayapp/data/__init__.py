"""Facts from elsewhere kept with the package (see README.md there for their sources)."""
