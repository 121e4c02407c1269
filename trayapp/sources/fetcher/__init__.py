"""The fetcher: a helper process that holds the Google clients only while a cycle needs them.

It may import ``trayapp.sources`` (the recipe it builds from, the protocol it answers);
nothing above it. Google's libraries load in the child process, never here.
"""
