"""Contracts shared by every process: commands, events, envelopes and their codecs."""
