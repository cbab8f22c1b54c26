# tests/journal.cmake -- settings of the journal suites: the crash suite forks
# and kills children (about ten seconds under the sanitizers); leave room.
set(ISOFLOW_TIMEOUT_test_journal_crash 300)
