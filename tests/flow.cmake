# tests/flow.cmake -- settings for the flow suites (tests/test_flow_*.c).
# Each runs in well under a second; the default ctest timeout applies.  The
# suites use tests/support/flow_fixture.c for requests, scripted
# participants and loop helpers.
