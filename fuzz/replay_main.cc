// A stand-in for libFuzzer's driver where the compiler has none (the GCC sanitizer build of
// scripts/test.sh): runs every file of the given corpus folders through the target once, then
// mutates them at random (bit flips, byte overwrites, truncation, insertion, splicing two
// inputs) for the given time. Not coverage-guided; it keeps the targets and their regression
// inputs honest in every test run. scripts/fuzz.sh runs the real libFuzzer.
//
//   fuzz_<target> [--seconds N] [--seed S] CORPUS_DIR_OR_FILE...
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), {});
}

void mutate(Bytes& input, const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % std::max<std::size_t>(n, 1)); };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!input.empty()) input[pick(input.size())] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // overwrite a byte with an interesting value
        if (!input.empty()) {
          static const std::uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40};
          input[pick(input.size())] = interesting[pick(sizeof interesting)];
        }
        break;
      case 2:  // truncate
        input.resize(pick(input.size() + 1));
        break;
      case 3: {  // insert random bytes
        const std::size_t at = pick(input.size() + 1);
        Bytes extra(1 + pick(8));
        for (auto& b : extra) b = static_cast<std::uint8_t>(rng());
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
        break;
      }
      case 4: {  // splice a piece of another input
        const Bytes& other = corpus[pick(corpus.size())];
        if (other.empty()) break;
        const std::size_t from = pick(other.size()), length = 1 + pick(std::min<std::size_t>(other.size() - from, 64));
        const std::size_t at = pick(input.size() + 1);
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), other.begin() + static_cast<std::ptrdiff_t>(from),
                     other.begin() + static_cast<std::ptrdiff_t>(from + length));
        break;
      }
      default:  // set a varint-looking byte (lengths and tags of the protobuf wire format)
        if (!input.empty()) input[pick(input.size())] = static_cast<std::uint8_t>(0x80 | (rng() & 0x7f));
        break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  std::uint64_t seed = 1;
  std::vector<Bytes> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) corpus.push_back(read_file(entry.path()));
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      corpus.push_back(read_file(arg));
    } else {
      std::fprintf(stderr, "no such corpus folder or file: %s\n", arg.c_str());
      return 2;
    }
  }
  for (const Bytes& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  std::size_t runs = corpus.size();
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  if (corpus.empty()) corpus.push_back({});
  while (std::chrono::steady_clock::now() < end) {
    Bytes input = corpus[static_cast<std::size_t>(rng() % corpus.size())];
    mutate(input, corpus, rng);
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
  }
  std::printf("%zu inputs run (%zu from the corpus), no finding\n", runs, corpus.size());
  return 0;
}
