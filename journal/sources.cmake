# journal/ -- the SQLite journal (adds SQLite and OpenSSL's crypto).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/record.c
  ${CMAKE_CURRENT_LIST_DIR}/protect.c
  ${CMAKE_CURRENT_LIST_DIR}/schema.c
  ${CMAKE_CURRENT_LIST_DIR}/writer.c
  ${CMAKE_CURRENT_LIST_DIR}/sync.c
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/journal.c
  ${CMAKE_CURRENT_LIST_DIR}/iface.c
  ${CMAKE_CURRENT_LIST_DIR}/restore.c
  ${CMAKE_CURRENT_LIST_DIR}/query.c
  ${CMAKE_CURRENT_LIST_DIR}/verify.c
  ${CMAKE_CURRENT_LIST_DIR}/profile.c
  ${CMAKE_CURRENT_LIST_DIR}/recovery.c
  ${CMAKE_CURRENT_LIST_DIR}/replay.c
)
