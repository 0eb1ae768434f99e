// What every fuzz target shares: a property check that stops the run with a message (a crash
// the fuzzer or the smoke driver reports with the input that caused it).
#pragma once

#include <cstdio>
#include <cstdlib>

#define PORTICO_FUZZ_CHECK(cond)                                                         \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
