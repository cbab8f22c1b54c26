# iso8583/ -- the message codec (needs only libc and cJSON).
list(APPEND ISOFLOW_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/error.c
)
