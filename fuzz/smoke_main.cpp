// The driver of the fuzz targets in the test build (without libFuzzer): runs every seed of the
// corpus, then a fixed number of inputs made from the seeds by random mutations (bit flips, byte
// changes, insertions, deletions, duplications, splices, and tokens that parsers trip on), from a
// fixed seed so every run is the same. Under ASan/UBSan a memory error or a violated property
// aborts the run; the driver prints the input that was being tried first.
//
//   fuzz_NAME [--iterations N] [--seed S] CORPUS_DIR_OR_FILE...
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present when linked with a sanitizer runtime: called before a sanitizer ends the process.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace {

const std::vector<std::string> kTokens = {
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "%",
    "%00",
    "%ff",
    "%c3%a9",
    "+",
    "=",
    "&",
    ".",
    "-",
    "--",
    "\r\n",
    "\r\n\r\n",
    "\0",
    "\xff",
    "\xc3\xa9",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "null",
    "true",
    "1e999",
    "-0",
    "99999999999999999999999",
    "\\u0000",
    "\\ud800",
    "bytes=",
    "0-",
    "-1",
    "/content/dam",
    "/..",
    "//",
    "=\"x\"",
    "Content-Disposition: ",
    "form-data; name=\"a\"",
    "eyJ",
    "AAAA",
    "====",
};

const std::string* g_current = nullptr;

void PrintCurrent() {
  if (!g_current) return;
  std::fprintf(stderr, "input (%zu bytes, hex):", g_current->size());
  for (unsigned char c : *g_current) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
}

void Run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  std::string s = seeds[pick(seeds.size())];
  const int steps = 1 + static_cast<int>(pick(4));
  for (int k = 0; k < steps; ++k) {
    switch (pick(8)) {
      case 0:  // flip one bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // set one byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 2: {  // insert random bytes
        std::string bytes(1 + pick(4), '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        s.insert(pick(s.size() + 1), bytes);
        break;
      }
      case 3:  // delete a range
        if (!s.empty()) {
          const size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 4:  // duplicate a range
        if (!s.empty()) {
          const size_t at = pick(s.size());
          const std::string piece = s.substr(at, 1 + pick(32));
          s.insert(pick(s.size() + 1), piece);
        }
        break;
      case 5: {  // splice with another seed
        const std::string& other = seeds[pick(seeds.size())];
        s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        break;
      }
      case 6:  // a token parsers trip on
        s.insert(pick(s.size() + 1), kTokens[pick(kTokens.size())]);
        break;
      default:  // truncate
        s.resize(pick(s.size() + 1));
        break;
    }
  }
  if (s.size() > 64 * 1024) s.resize(64 * 1024);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 10000;
  uint64_t seed = 20261124;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::strtol(argv[++i], nullptr, 10);
      continue;
    }
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
      continue;
    }
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s\n", f.c_str());
        return 2;
      }
      seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  // Say which input failed, whether a sanitizer or a property check ends the run.
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(PrintCurrent);
  std::signal(SIGABRT, [](int) {
    PrintCurrent();
    std::_Exit(134);
  });
  for (const auto& s : seeds) Run(s);
  std::mt19937_64 rng(seed);
  for (long n = 0; n < iterations; ++n) Run(Mutate(seeds, rng));
  std::printf("%ld seeds and %ld mutated inputs: no crash, no violated property\n",
              static_cast<long>(seeds.size()), iterations);
  return 0;
}
