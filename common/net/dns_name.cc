#include "common/net/dns_name.h"

#include "absl/strings/ascii.h"

namespace portico::net {

bool IsDnsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

bool IsDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t pos = 0;
  while (true) {
    size_t dot = name.find('.', pos);
    if (!IsDnsLabel(name.substr(pos, dot == std::string_view::npos ? dot : dot - pos))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    pos = dot + 1;
  }
}

}  // namespace portico::net
