# tests/iso8583.cmake -- settings for the codec suites.  test_iso8583_nomem
# makes the library's allocations fail on purpose: it is linked with malloc
# wrapped (every malloc call in the statically linked library goes through the
# suite's __wrap_malloc).
set(ISOFLOW_LINK_OPTIONS_test_iso8583_nomem -Wl,--wrap=malloc)
