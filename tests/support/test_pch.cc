// Builds the precompiled header that every test reuses (hyper_test_pch in CMakeLists.txt).
