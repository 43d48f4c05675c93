#include "controller/source/field_reader.h"

#include <limits>

#include "common/strings.h"

namespace portico::controller::source {
namespace {

using nlohmann::json;

// Enough of the offending value to recognise it in a message.
std::string Describe(const json& value) {
  constexpr size_t kMaxShown = 40;
  switch (value.type()) {
    case json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      std::string shown = s.size() > kMaxShown ? s.substr(0, kMaxShown) + "..." : s;
      return portico::StrCat("string ", json(shown).dump());
    }
    case json::value_t::boolean:
      return portico::StrCat("boolean ", value.dump());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return portico::StrCat("number ", value.dump());
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "a list";
    default:
      return "null";
  }
}

}  // namespace

std::string FieldPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return portico::StrCat(parent, ".", key);
}

std::string IndexPath(std::string_view parent, size_t index) {
  return portico::StrCat(parent, "[", index, "]");
}

const json* FieldReader::Find(const json& parent, std::string_view key) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::Fail(std::string_view path, std::string_view message) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(portico::StrCat(path, ": ", message));
  }
}

void FieldReader::WrongType(std::string_view path, std::string_view expected, const json& got) {
  Fail(path, portico::StrCat("expected ", expected, ", got ", Describe(got)));
}

const json* FieldReader::Object(const json& parent, std::string_view key, std::string_view path) {
  const json* value = Find(parent, key);
  if (value == nullptr || value->is_object()) return value;
  WrongType(FieldPath(path, key), "an object", *value);
  return nullptr;
}

const json* FieldReader::Array(const json& parent, std::string_view key, std::string_view path) {
  const json* value = Find(parent, key);
  if (value == nullptr || value->is_array()) return value;
  WrongType(FieldPath(path, key), "a list", *value);
  return nullptr;
}

std::optional<std::string> FieldReader::OptString(const json& parent, std::string_view key,
                                                  std::string_view path) {
  const json* value = Find(parent, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  WrongType(FieldPath(path, key), "a string", *value);
  return std::nullopt;
}

std::string FieldReader::String(const json& parent, std::string_view key, std::string_view path,
                                std::string_view fallback) {
  std::optional<std::string> value = OptString(parent, key, path);
  return value.has_value() ? *std::move(value) : std::string(fallback);
}

std::optional<int32_t> FieldReader::OptInt32(const json& parent, std::string_view key,
                                             std::string_view path) {
  const json* value = Find(parent, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) {
    WrongType(FieldPath(path, key), "an integer", *value);
    return std::nullopt;
  }
  bool in_range = value->is_number_unsigned()
                      ? value->get<uint64_t>() <= uint64_t{std::numeric_limits<int32_t>::max()}
                      : value->get<int64_t>() >= std::numeric_limits<int32_t>::min() &&
                            value->get<int64_t>() <= std::numeric_limits<int32_t>::max();
  if (!in_range) {
    Fail(FieldPath(path, key), portico::StrCat(value->dump(), " is out of range"));
    return std::nullopt;
  }
  return static_cast<int32_t>(value->get<int64_t>());
}

std::optional<bool> FieldReader::OptBool(const json& parent, std::string_view key,
                                         std::string_view path) {
  const json* value = Find(parent, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_boolean()) return value->get<bool>();
  WrongType(FieldPath(path, key), "a boolean", *value);
  return std::nullopt;
}

std::map<std::string, std::string> FieldReader::StringMap(const json& parent, std::string_view key,
                                                          std::string_view path) {
  std::map<std::string, std::string> out;
  const json* map = Object(parent, key, path);
  if (map == nullptr) return out;
  for (const auto& [name, value] : map->items()) {
    if (value.is_string()) {
      out[name] = value.get<std::string>();
    } else if (value.is_null()) {
      out[name] = "";
    } else {
      // Quote the key: label and annotation keys contain dots and slashes.
      WrongType(portico::StrCat(FieldPath(path, key), "[", json(name).dump(), "]"), "a string",
                value);
    }
  }
  return out;
}

std::vector<std::string> FieldReader::StringList(const json& parent, std::string_view key,
                                                 std::string_view path) {
  std::vector<std::string> out;
  const json* list = Array(parent, key, path);
  if (list == nullptr) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& value = (*list)[i];
    if (value.is_string()) {
      out.push_back(value.get<std::string>());
    } else {
      WrongType(IndexPath(FieldPath(path, key), i), "a string", value);
    }
  }
  return out;
}

const json* FieldReader::Element(const json& element, std::string_view path) {
  if (element.is_object()) return &element;
  WrongType(path, "an object", element);
  return nullptr;
}

}  // namespace portico::controller::source
