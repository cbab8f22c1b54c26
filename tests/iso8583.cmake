# tests/iso8583.cmake -- settings for the codec suites.  test_iso8583_nomem
# makes the library's allocations fail on purpose (support/failing_alloc.h):
# it is linked with malloc, calloc and realloc wrapped.
set(ISOFLOW_LINK_OPTIONS_test_iso8583_nomem
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
