# tests/examples.cmake -- settings of the examples' suites: tests/test_examples_*.c
# reach the code shared by the example programs (and the issuer's participants
# once flow/ is in the tree) through the support library; the e2e_*_test.sh
# scripts start the real programs on loopback.
target_link_libraries(isoflow_testsupport PUBLIC isoflow_examples_common)
if(TARGET isoflow_issuer_participants)
  target_link_libraries(isoflow_testsupport PUBLIC isoflow_issuer_participants)
endif()
set(ISOFLOW_TIMEOUT_e2e_issuer_test 180)
