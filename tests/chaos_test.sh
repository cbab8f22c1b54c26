#!/usr/bin/env bash
# tests/chaos_test.sh BIN_DIR SOURCE_DIR -- scripts/chaos with 3 kills: the
# issuer killed with SIGKILL three times under load (authorizations,
# repeats, reversals) and restarted on its journal; every approval the
# acquirer received must be committed, none twice, the balances must agree
# with the journal, and `isoflow journal verify` must pass.  A fixed seed,
# so that a failure can be run again as it was.
set -euo pipefail
exec bash "$2/scripts/chaos" --kills 3 --seed 4242 --bin "$1"
