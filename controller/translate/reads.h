#pragma once
// The objects a part of a translation looked up by name, found or not: an
// island (islands.h) whose reads a change does not touch keeps its output.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::controller::translate {

enum class ReadKind : uint8_t { kService, kSecret, kConfigMap };

struct Read {
  ReadKind kind;
  std::string ns;
  std::string name;
  friend auto operator<=>(const Read&, const Read&) = default;
};

// Collects reads; not thread-safe (one translation at a time).
class ReadLog {
 public:
  void Note(ReadKind kind, std::string_view ns, std::string_view name) {
    reads_.push_back({kind, std::string(ns), std::string(name)});
  }
  // What was noted since the last Take, sorted, each once.
  std::vector<Read> Take();

 private:
  std::vector<Read> reads_;
};

}  // namespace portico::controller::translate
