# tests/fuzz.cmake -- the fuzz targets in the ordinary test build: each
# tests/fuzz/fuzz_<name>.c is linked with tests/fuzz/replay.c (no libFuzzer
# needed, any compiler) into isoflow-replay-<name>, and ctest runs it over
# the seed corpus (tests/fuzz/corpus/<name>/) and every crash the fuzzers
# once found (tests/fuzz/crashes/<name>/), so a fixed bug stays fixed.
# The fuzzing itself is scripts/fuzz (ISOFLOW_FUZZ=ON, clang).
file(GLOB ISOFLOW_REPLAY_TARGETS CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_*.c)
foreach(src ${ISOFLOW_REPLAY_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "fuzz_" "" short ${name})
  add_executable(isoflow-replay-${short} ${src} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.c)
  target_link_libraries(isoflow-replay-${short} PRIVATE isoflow_internal)
  target_compile_definitions(isoflow-replay-${short} PRIVATE
    FUZZ_EXOTIC_SPEC="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/exotic_spec.json")
  add_test(NAME fuzz_replay_${short}
           COMMAND isoflow-replay-${short}
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${short}
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/crashes/${short})
  isoflow_test_settings(fuzz_replay_${short})
endforeach()
