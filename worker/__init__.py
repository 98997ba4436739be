"""The worker process: stream consumers hosted by arq."""
