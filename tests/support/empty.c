/* support/empty.c -- keeps the test-support library non-empty before any helper exists. */
typedef int isoflow_testsupport_empty;
