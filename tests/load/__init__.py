"""Load and protocol-limit tests: a real server on a free port, bounded bursts."""
