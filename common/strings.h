#pragma once
// Bridges std::string_view and Debian's abseil, which is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0): absl::StrCat and the
// absl::Simple* parsers do not accept std::string_view directly.

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace portico {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

namespace strings_internal {
template <typename T>
decltype(auto) Arg(const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view> &&
                !std::is_convertible_v<const T&, absl::string_view>) {
    return ToAbsl(value);
  } else {
    return (value);
  }
}
}  // namespace strings_internal

// absl::StrCat that also takes std::string_view.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(strings_internal::Arg(args)...);
}

template <typename Int>
bool SimpleAtoi(std::string_view text, Int* out) {
  return absl::SimpleAtoi(ToAbsl(text), out);
}

}  // namespace portico
