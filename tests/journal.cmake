# tests/journal.cmake -- settings of the journal suites: the crash suite forks
# and kills children (about ten seconds under the sanitizers); leave room.
set(ISOFLOW_TIMEOUT_test_journal_crash 300)
# test_journal_nomem fails the library's allocations one by one: linked
# with malloc, calloc and realloc wrapped.
set(ISOFLOW_LINK_OPTIONS_test_journal_nomem
    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
