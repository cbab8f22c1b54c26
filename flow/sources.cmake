# flow/ -- the transaction manager (libuv, the codec, and conn for serving).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/flow.c
  ${CMAKE_CURRENT_LIST_DIR}/tx.c
  ${CMAKE_CURRENT_LIST_DIR}/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/serve.c
  ${CMAKE_CURRENT_LIST_DIR}/idempotency.c
  ${CMAKE_CURRENT_LIST_DIR}/siphash.c
  ${CMAKE_CURRENT_LIST_DIR}/clock.c
  ${CMAKE_CURRENT_LIST_DIR}/histogram.c
  ${CMAKE_CURRENT_LIST_DIR}/profiler.c
  ${CMAKE_CURRENT_LIST_DIR}/recovery.c
  ${CMAKE_CURRENT_LIST_DIR}/server.c
)
