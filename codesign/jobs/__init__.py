"""The job queue in the store that lets many workers, on one host or many, share a measuring
command (queue.py), and the worker processes a command starts (workers.py)."""
