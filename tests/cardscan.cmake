# tests/cardscan.cmake -- time limits of the card-data scans
# (tests/cardscan_test.sh, tests/cardscan_e2e_test.sh): they run the real
# programs many times under the sanitizers, so give them room on a loaded
# 2-core machine.
set(ISOFLOW_TIMEOUT_cardscan_test 300)
set(ISOFLOW_TIMEOUT_cardscan_e2e_test 300)
