// Base64 (RFC 4648, with padding): how the ORT server protocol carries binary tensor data
// inside JSON lines.
#pragma once

#include <string>
#include <string_view>

namespace test_support {

std::string base64_encode(std::string_view bytes);
// Throws std::invalid_argument on characters outside the alphabet or a bad length.
std::string base64_decode(std::string_view text);

}  // namespace test_support
