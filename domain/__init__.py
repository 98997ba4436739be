"""Business rules: pure decide/evolve functions over plain data. No I/O here."""
