// One exception type for every engine failure; the addon turns it into a JS Error.
#pragma once
#include <stdexcept>
#include <string>

namespace gb {

class EngineError : public std::runtime_error {
 public:
  explicit EngineError(const std::string& message) : std::runtime_error(message) {}
};

// Formats like printf into a std::string (used to build error messages).
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace gb
