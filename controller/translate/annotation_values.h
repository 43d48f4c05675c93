#pragma once
// Strict parsers for annotation and ConfigMap values. Each accepts exactly the
// documented syntax and returns nullopt for anything else; none of them lets a
// control character through, so no parsed value can smuggle a header line or
// a second directive anywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace portico::controller::translate {

// No NUL, CR, LF or other C0 control character except TAB, and no DEL.
bool IsSafeText(std::string_view value);

// An HTTP field name (RFC 9110 5.1: a token).
bool IsHeaderName(std::string_view value);

// An HTTP field value (RFC 9110 5.5): visible ASCII, obs-text, SP and HTAB,
// without leading or trailing whitespace.
bool IsHeaderValue(std::string_view value);

// Whole seconds ("30", as ingress-nginx's proxy-*-timeout) or a duration with
// units ("500ms", "1m30s", "2h"; units ns us ms s m h). Not negative, at most
// `max`.
std::optional<absl::Duration> ParseDuration(std::string_view value,
                                            absl::Duration max = absl::Hours(24 * 365));

// nginx's size syntax: bytes, or a number with k, m or g (either case, powers
// of 1024): "8m", "512k", "1048576". At most 2^50.
std::optional<uint64_t> ParseSize(std::string_view value);

// A decimal integer in [min, max], no sign, no spaces.
std::optional<uint64_t> ParseUint(std::string_view value, uint64_t min, uint64_t max);

// IPv4 and IPv6 CIDRs ("10.0.0.0/8, 2001:db8::/32"; a bare address is /32 or
// /128), separated by commas and/or spaces, in canonical form. Empty lists and
// host bits beyond the prefix are errors; the message names the bad entry.
absl::StatusOr<std::vector<std::string>> ParseCidrList(std::string_view value);

// A comma-separated list; items are trimmed of spaces and empty items dropped.
// Returns nullopt when any item is not IsSafeText.
std::optional<std::vector<std::string>> ParseList(std::string_view value);

}  // namespace portico::controller::translate
