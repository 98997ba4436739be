"""Everything that touches the outside world: Redis, settings, hashing, tokens."""
