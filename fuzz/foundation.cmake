# Fuzzers of the decoders of util, core, trie and drive (declared together; their seed corpora
# are replayed as tests by tests/CMakeLists.txt).
hyper_fuzzer(util_protobuf_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/util_protobuf_fuzzer.cc LIBS hyper_util)
hyper_fuzzer(core_store_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/core_store_fuzzer.cc LIBS hyper_core)
hyper_fuzzer(trie_node_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/trie_node_fuzzer.cc LIBS hyper_trie)
hyper_fuzzer(drive_stat_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/drive_stat_fuzzer.cc LIBS hyper_drive)
