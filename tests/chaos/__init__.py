"""Chaos tests: real processes killed and brokers stopped while beats run; each prints its
figures (sent, lost, duplicated, recovery seconds). Slow: CI runs them."""
