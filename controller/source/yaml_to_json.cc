#include "controller/source/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/strings.h"

namespace portico::controller::source {
namespace {

using nlohmann::json;

// Manifests nest a dozen levels deep; the limit only stops alias cycles
// (`&a [*a]` builds a cyclic node graph in yaml-cpp) and runaway input.
constexpr int kMaxDepth = 128;
// Aliases share nodes, so a small file can expand exponentially ("billion
// laughs"). Without aliases a stream holds fewer values than bytes, so a
// budget of a few values per input byte leaves room for honest anchors and
// stops a bomb after little work; the cap bounds memory for large files.
constexpr size_t kValuesPerByte = 4;
constexpr size_t kMinValues = 4096;
constexpr size_t kMaxValues = size_t{1} << 22;

constexpr char kStrTag[] = "tag:yaml.org,2002:str";
constexpr char kIntTag[] = "tag:yaml.org,2002:int";
constexpr char kFloatTag[] = "tag:yaml.org,2002:float";
constexpr char kBoolTag[] = "tag:yaml.org,2002:bool";
constexpr char kNullTag[] = "tag:yaml.org,2002:null";

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!AllOf(s.substr(i), IsDigit)) return false;
    i = s.size();
  }
  return i == s.size();
}

json ParseInteger(std::string_view digits, int base, bool negative, std::string_view original) {
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    // Too large for 64 bits: keep the magnitude approximately, as a float.
    double value = 0;
    std::from_chars(original.data(), original.data() + original.size(), value);
    return value;
  }
  if (!negative) return magnitude;
  if (magnitude <= uint64_t{std::numeric_limits<int64_t>::max()} + 1) {
    return static_cast<int64_t>(0 - magnitude);
  }
  return -static_cast<double>(magnitude);
}

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return "";
  return portico::StrCat("line ", mark.line + 1, ", column ", mark.column + 1, ": ");
}

class Converter {
 public:
  explicit Converter(size_t input_bytes)
      : max_values_(std::min(kMaxValues, kMinValues + kValuesPerByte * input_bytes)) {}

  absl::Status Convert(const YAML::Node& node, int depth, json& out) {
    if (depth > kMaxDepth) {
      return absl::InvalidArgumentError(
          portico::StrCat(Where(node), "nested too deeply (an alias cycle?)"));
    }
    if (++values_ > max_values_) {
      return absl::InvalidArgumentError(
          portico::StrCat(Where(node), "document expands to too many values (aliases?)"));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return absl::OkStatus();
      case YAML::NodeType::Scalar:
        return ConvertScalar(node, out);
      case YAML::NodeType::Sequence:
        out = json::array();
        for (const YAML::Node& item : node) {
          absl::Status status = Convert(item, depth + 1, out.emplace_back());
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      case YAML::NodeType::Map:
        return ConvertMap(node, depth, out);
    }
    return absl::InternalError("unknown YAML node type");
  }

 private:
  absl::Status ConvertScalar(const YAML::Node& node, json& out) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
    if (tag == "?") {
      out = ResolvePlainScalar(text);
      return absl::OkStatus();
    }
    if (tag == kNullTag) {
      out = nullptr;
      return absl::OkStatus();
    }
    if (tag == kIntTag || tag == kFloatTag || tag == kBoolTag) {
      json value = ResolvePlainScalar(text);
      bool ok = tag == kIntTag     ? value.is_number_integer()
                : tag == kFloatTag ? value.is_number()
                                   : value.is_boolean();
      if (!ok) {
        return absl::InvalidArgumentError(
            portico::StrCat(Where(node), "\"", text, "\" is not a valid ", tag));
      }
      if (tag == kFloatTag) value = value.get<double>();
      out = std::move(value);
      return absl::OkStatus();
    }
    // "!", !!str, and tags we do not know (!!timestamp, !!binary, local ones):
    // the text itself is the most faithful value.
    out = text;
    return absl::OkStatus();
  }

  absl::Status ConvertMap(const YAML::Node& node, int depth, json& out) {
    out = json::object();
    std::vector<json> merges;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        return absl::InvalidArgumentError(
            portico::StrCat(Where(key), "mapping keys must be strings"));
      }
      const std::string& name = key.Scalar();
      if (name == "<<" && key.Tag() == "?") {
        absl::Status status = CollectMerge(entry.second, depth, merges);
        if (!status.ok()) return status;
        continue;
      }
      if (out.contains(name)) {
        return absl::InvalidArgumentError(
            portico::StrCat(Where(key), "duplicate key \"", name, "\""));
      }
      absl::Status status = Convert(entry.second, depth + 1, out[name]);
      if (!status.ok()) return status;
    }
    // YAML merge keys: explicit keys win, then earlier merged mappings.
    for (const json& merge : merges) {
      for (const auto& [name, value] : merge.items()) {
        if (!out.contains(name)) out[name] = value;
      }
    }
    return absl::OkStatus();
  }

  absl::Status CollectMerge(const YAML::Node& value_node, int depth, std::vector<json>& merges) {
    json value;
    absl::Status status = Convert(value_node, depth + 1, value);
    if (!status.ok()) return status;
    if (value.is_object()) {
      merges.push_back(std::move(value));
      return absl::OkStatus();
    }
    bool all_mappings = value.is_array();
    for (const json& item : value) all_mappings = all_mappings && item.is_object();
    if (all_mappings) {
      for (json& item : value) merges.push_back(std::move(item));
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        portico::StrCat(Where(value_node), "a merge key (<<) needs a mapping or a list of them"));
  }

  const size_t max_values_;
  size_t values_ = 0;
};

}  // namespace

json ResolvePlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && AllOf(s.substr(2), IsHex)) {
    return ParseInteger(s.substr(2), 16, false, s);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && AllOf(s.substr(2), IsOctal)) {
    return ParseInteger(s.substr(2), 8, false, s);
  }
  bool negative = s[0] == '-';
  std::string_view digits = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  if (AllOf(digits, IsDigit)) return ParseInteger(digits, 10, negative, s);
  if (IsCoreFloat(s)) {
    // from_chars rejects a leading '+'.
    std::string_view unsigned_part = s[0] == '+' ? s.substr(1) : s;
    double value = 0;
    std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), value);
    return value;
  }
  std::string_view magnitude = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  if (magnitude == ".inf" || magnitude == ".Inf" || magnitude == ".INF") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  return std::string(s);
}

absl::StatusOr<std::vector<json>> ParseYamlDocuments(std::string_view text) {
  // JSON files (and API server output) take the exact JSON parser: it keeps
  // number/string distinctions as written and is faster on large lists.
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) return std::vector<json>{std::move(value)};
    // Not strict JSON: maybe YAML flow style. Let the YAML parser decide.
  }
  std::vector<json> documents;
  try {
    std::vector<YAML::Node> nodes = YAML::LoadAll(std::string(text));
    documents.reserve(nodes.size());
    Converter converter(text.size());
    for (const YAML::Node& node : nodes) {
      absl::Status status = converter.Convert(node, 0, documents.emplace_back());
      if (!status.ok()) return status;
    }
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(e.msg);
    return absl::InvalidArgumentError(
        portico::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ", e.msg));
  }
  return documents;
}

}  // namespace portico::controller::source
