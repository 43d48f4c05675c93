#include "controller/translate/annotation_values.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/net/ip_address.h"
#include "common/strings.h"

namespace portico::controller::translate {

bool IsSafeText(std::string_view value) {
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool IsHeaderName(std::string_view value) {
  static constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  if (value.empty()) return false;
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 &&
        kTokenPunct.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsHeaderValue(std::string_view value) {
  if (!IsSafeText(value)) return false;
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    return false;
  }
  return true;
}

std::optional<uint64_t> ParseUint(std::string_view value, uint64_t min, uint64_t max) {
  if (value.empty() || value.size() > 20) return std::nullopt;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t n = 0;
  if (!portico::SimpleAtoi(value, &n) || n < min || n > max) return std::nullopt;
  return n;
}

std::optional<absl::Duration> ParseDuration(std::string_view value, absl::Duration max) {
  if (value.empty() || !IsSafeText(value)) return std::nullopt;
  absl::Duration d;
  if (auto seconds = ParseUint(value, 0, UINT32_MAX)) {
    d = absl::Seconds(static_cast<int64_t>(*seconds));
  } else {
    // absl accepts a sign, fractions and "inf": only digits and units here.
    for (char c : value) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.') return std::nullopt;
    }
    if (!absl::ParseDuration(ToAbsl(value), &d)) return std::nullopt;
  }
  if (d < absl::ZeroDuration() || d > max) return std::nullopt;
  return d;
}

std::optional<uint64_t> ParseSize(std::string_view value) {
  if (value.empty()) return std::nullopt;
  uint64_t multiplier = 1;
  switch (absl::ascii_tolower(static_cast<unsigned char>(value.back()))) {
    case 'k':
      multiplier = uint64_t{1} << 10;
      break;
    case 'm':
      multiplier = uint64_t{1} << 20;
      break;
    case 'g':
      multiplier = uint64_t{1} << 30;
      break;
    default:
      break;
  }
  if (multiplier != 1) value.remove_suffix(1);
  constexpr uint64_t kMax = uint64_t{1} << 50;
  auto n = ParseUint(value, 0, kMax);
  if (!n || *n > kMax / multiplier) return std::nullopt;
  return *n * multiplier;
}

std::optional<std::vector<std::string>> ParseList(std::string_view value) {
  if (!IsSafeText(value)) return std::nullopt;
  std::vector<std::string> out;
  for (absl::string_view item : absl::StrSplit(ToAbsl(value), ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseCidrList(std::string_view value) {
  if (!IsSafeText(value)) {
    return absl::InvalidArgumentError("must not contain control characters (CR, LF, NUL)");
  }
  absl::StatusOr<net::CidrSet> set = net::CidrSet::Parse(value);
  if (!set.ok()) return set.status();
  if (set->empty()) return absl::InvalidArgumentError("empty list");
  std::vector<std::string> out;
  for (absl::string_view entry :
       absl::StrSplit(ToAbsl(value), absl::ByAnyChar(", \t"), absl::SkipEmpty())) {
    out.push_back(net::Cidr::Parse(ToStd(entry))->ToString());
  }
  return out;
}

}  // namespace portico::controller::translate
