# tests/flow.cmake -- settings for the flow suites (tests/test_flow_*.c).
# Each runs in well under a second; the default ctest timeout applies.  The
# suites use tests/support/flow_fixture.c for requests, scripted
# participants and loop helpers.
# test_flow_nomem fails the library's allocations one by one: linked with
# malloc, calloc and realloc wrapped.
set(ISOFLOW_LINK_OPTIONS_test_flow_nomem
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
