"""`make bench`: Sluice's throughput beside the raw Redis ceilings and its peers."""
