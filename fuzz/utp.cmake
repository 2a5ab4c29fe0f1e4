# Fuzzer of the uTP packet decoder (src/utp).
hyper_fuzzer(utp_packet_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/utp_packet_fuzzer.cc
  LIBS hyper_utp)
