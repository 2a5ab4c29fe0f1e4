# Fuzzers of the DHT's decoders and of the node that receives datagrams (src/swarm).
hyper_fuzzer(swarm_message_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/swarm_message_fuzzer.cc
  LIBS hyper_swarm)
hyper_fuzzer(mdns_message_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mdns_message_fuzzer.cc
  LIBS hyper_swarm)
