# Fuzzer of the gateway's parsers of client input (src/gateway).
hyper_fuzzer(http_request_fuzzer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/http_request_fuzzer.cc
  LIBS hyper_gateway)
