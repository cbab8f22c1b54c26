# iso8583/ -- the message codec (needs only libc and cJSON).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/error.c
  ${CMAKE_CURRENT_LIST_DIR}/encoding.c
  ${CMAKE_CURRENT_LIST_DIR}/spec.c
  ${CMAKE_CURRENT_LIST_DIR}/specs.c
  ${CMAKE_CURRENT_LIST_DIR}/message.c
  ${CMAKE_CURRENT_LIST_DIR}/wire.c
  ${CMAKE_CURRENT_LIST_DIR}/unpack.c
  ${CMAKE_CURRENT_LIST_DIR}/pack.c
  ${CMAKE_CURRENT_LIST_DIR}/peek.c
  ${CMAKE_CURRENT_LIST_DIR}/mti.c
  ${CMAKE_CURRENT_LIST_DIR}/tlv.c
  ${CMAKE_CURRENT_LIST_DIR}/subfield.c
  ${CMAKE_CURRENT_LIST_DIR}/json_text.c
  ${CMAKE_CURRENT_LIST_DIR}/spec_json.c
  ${CMAKE_CURRENT_LIST_DIR}/mask.c
  ${CMAKE_CURRENT_LIST_DIR}/msg_json.c
  ${CMAKE_CURRENT_LIST_DIR}/describe.c
)
