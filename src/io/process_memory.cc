#include "io/process_memory.h"

#include <fstream>
#include <string>

namespace onnx_fp16::io {

std::uint64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      std::uint64_t kilobytes = 0;
      status >> kilobytes;
      return kilobytes * 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace onnx_fp16::io
