# Fuzzers of the replication protocol's decoders (src/protocol).
foreach(name protocol_frame protocol_message protocol_rle protocol_handshake
    protocol_replicator)
  hyper_fuzzer(${name}_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzzer.cc
    LIBS hyper_protocol)
endforeach()
