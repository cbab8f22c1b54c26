# tests/conn.cmake -- time limits for the conn suites.  Each runs in about a
# second over loopback; the limits only bound a hung socket test (every wait
# inside the suites is itself bounded in count and time).
set(ISOFLOW_TIMEOUT_test_conn_framer 60)
set(ISOFLOW_TIMEOUT_test_conn_requests 60)
set(ISOFLOW_TIMEOUT_test_conn_lifecycle 60)
set(ISOFLOW_TIMEOUT_test_conn_faults 60)
set(ISOFLOW_TIMEOUT_test_conn_tls 60)
set(ISOFLOW_TIMEOUT_test_conn_server 60)
set(ISOFLOW_TIMEOUT_test_conn_pool 60)
set(ISOFLOW_TIMEOUT_test_conn_blocking 60)
set(ISOFLOW_TIMEOUT_test_conn_send 60)
set(ISOFLOW_TIMEOUT_test_conn_closereasons 60)
