# conn/ -- framing, connections with request/response matching, server, TLS
# (adds libuv and OpenSSL to what iso8583/ needs).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/framer.c
  ${CMAKE_CURRENT_LIST_DIR}/matcher.c
  ${CMAKE_CURRENT_LIST_DIR}/requests.c
  ${CMAKE_CURRENT_LIST_DIR}/connection.c
  ${CMAKE_CURRENT_LIST_DIR}/server.c
  ${CMAKE_CURRENT_LIST_DIR}/tls.c
  ${CMAKE_CURRENT_LIST_DIR}/pool.c
  ${CMAKE_CURRENT_LIST_DIR}/blocking.c
)
