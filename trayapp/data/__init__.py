"""Facts from elsewhere kept with the package (see README.md there for their sources).

Data files only: it imports nothing; ``trayapp.sources.compute_metrics`` reads the metric list.
"""
