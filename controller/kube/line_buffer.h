#pragma once
// Splits a byte stream into newline-terminated lines (a watch body is one JSON
// object per line) without ever holding more than one partial line.

#include <cstddef>
#include <string>
#include <string_view>

namespace portico::controller::kube {

class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line) : max_line_(max_line) {}

  // Appends `chunk` and calls on_line(std::string_view) for each complete line
  // (without its "\n" or "\r\n"; empty lines are skipped). Returns false when
  // on_line returned false, or when a partial line grew past max_line
  // (overflowed() then tells which).
  template <typename OnLine>
  bool Append(std::string_view chunk, OnLine&& on_line) {
    size_t start = 0;
    while (start < chunk.size()) {
      size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) break;
      std::string_view piece = chunk.substr(start, nl - start);
      start = nl + 1;
      std::string_view line = piece;
      if (!partial_.empty()) {
        partial_.append(piece);
        line = partial_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      bool go_on = line.empty() || on_line(line);
      partial_.clear();
      if (!go_on) return false;
    }
    partial_.append(chunk.substr(start));
    if (partial_.size() > max_line_) {
      overflowed_ = true;
      return false;
    }
    return true;
  }

  bool overflowed() const { return overflowed_; }
  // Bytes of an unfinished last line (a stream that ends mid-line lost them).
  size_t pending() const { return partial_.size(); }

 private:
  const size_t max_line_;
  std::string partial_;
  bool overflowed_ = false;
};

}  // namespace portico::controller::kube
