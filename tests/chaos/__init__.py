"""The fault suite: real processes on a real Redis, killed on purpose; nothing lost or doubled."""
