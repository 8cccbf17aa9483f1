#!/bin/sh
# The long concurrency run of issue 6 (not part of make test, which runs a
# few seconds of it): 16 clients at once against 8 slots for 60 s (or $1),
# every answer compared with the single-client one (greedy and seeded),
# resident memory before and after. Run from the repo root after make.
set -e
make -s build/tests/test_serve tick
TICK_SERVE_LOAD_SECONDS=${1:-60} TICK=./tick ./build/tests/test_serve | grep -E 'rounds of|concurrent|passed'
