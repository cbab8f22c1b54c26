# flow/ -- the transaction manager (adds nothing beyond libuv and the codec).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/flow.c
  ${CMAKE_CURRENT_LIST_DIR}/tx.c
  ${CMAKE_CURRENT_LIST_DIR}/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/serve.c
  ${CMAKE_CURRENT_LIST_DIR}/idempotency.c
  ${CMAKE_CURRENT_LIST_DIR}/siphash.c
  ${CMAKE_CURRENT_LIST_DIR}/histogram.c
  ${CMAKE_CURRENT_LIST_DIR}/profiler.c
  ${CMAKE_CURRENT_LIST_DIR}/recovery.c
)
