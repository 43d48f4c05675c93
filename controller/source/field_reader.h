#pragma once
// Strict, typed access to the fields of a Kubernetes object held as JSON.
// A field of the wrong type is an error naming its path
// ("spec.ports[0].port: expected an integer, got string \"80\""); absent or
// null fields are "not set", as in the API's Go types. The reader keeps the
// first error and hands out defaults after it, so a decoder reads every field
// straight through and checks status() once at the end.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "absl/status/status.h"

namespace portico::controller::source {

// "spec" + "rules" -> "spec.rules"; "" + "spec" -> "spec".
std::string FieldPath(std::string_view parent, std::string_view key);
// "spec.rules" + 2 -> "spec.rules[2]".
std::string IndexPath(std::string_view parent, size_t index);

class FieldReader {
 public:
  // `parent` is an object (the caller checked); `path` is the parent's path.
  // Each returns nullptr / nullopt / empty when the field is absent or null.
  const nlohmann::json* Object(const nlohmann::json& parent, std::string_view key,
                               std::string_view path);
  const nlohmann::json* Array(const nlohmann::json& parent, std::string_view key,
                              std::string_view path);
  std::optional<std::string> OptString(const nlohmann::json& parent, std::string_view key,
                                       std::string_view path);
  std::string String(const nlohmann::json& parent, std::string_view key, std::string_view path,
                     std::string_view fallback = "");
  std::optional<int32_t> OptInt32(const nlohmann::json& parent, std::string_view key,
                                  std::string_view path);
  std::optional<bool> OptBool(const nlohmann::json& parent, std::string_view key,
                              std::string_view path);
  // map[string]string: a null value reads as "" (Go's zero value).
  std::map<std::string, std::string> StringMap(const nlohmann::json& parent, std::string_view key,
                                               std::string_view path);
  std::vector<std::string> StringList(const nlohmann::json& parent, std::string_view key,
                                      std::string_view path);

  // An array element that must be an object; nullptr (and an error) otherwise.
  const nlohmann::json* Element(const nlohmann::json& element, std::string_view path);

  // Records `message` for the field at `path` unless an error is already kept.
  void Fail(std::string_view path, std::string_view message);
  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  // nullptr when absent or null, else the value.
  static const nlohmann::json* Find(const nlohmann::json& parent, std::string_view key);
  void WrongType(std::string_view path, std::string_view expected, const nlohmann::json& got);

  absl::Status status_;
};

}  // namespace portico::controller::source
