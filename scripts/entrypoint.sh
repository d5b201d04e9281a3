#!/usr/bin/env sh
# What the container runs (and tests/test_serve.py runs too): migrate, seed, then serve.
# CP_SKIP_SETUP=1 serves only (replicas behind a load balancer; a setup job migrated).
set -eu
if [ "${CP_SKIP_SETUP:-0}" != "1" ]; then
  country-positions migrate
  country-positions seed "${CP_SEEDS_PATH:-seeds}"
fi
exec country-positions serve "$@"
