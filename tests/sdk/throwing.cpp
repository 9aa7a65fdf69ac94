// A plugin library whose init throws (tests/sdk/loader_test.cpp): the
// loader must refuse it with the exception's message, never half-load it.

#include <stdexcept>

#include "hooks/plugin.hpp"

DJA_PLUGIN(throwing) {
  throw std::runtime_error("cannot open /nonexistent/hello.db");
}
