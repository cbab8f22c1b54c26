# tests/faults.cmake -- ctest timeouts of the fault tests (scripts/chaos,
# overload, hostile peers).  Each is meant to finish well inside a minute;
# the timeouts leave room for a loaded CI machine running the suite in
# parallel.
set(ISOFLOW_TIMEOUT_chaos_test 120)
set(ISOFLOW_TIMEOUT_overload_test 120)
set(ISOFLOW_TIMEOUT_hostile_test 120)
