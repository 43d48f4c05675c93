#pragma once
// JSON access log: one object per request, one line each (fields documented in
// docs/access-log.md). Each worker batches its lines and writes them with one
// write(2) per loop iteration.

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::dataplane::proxy {

struct AccessLogEntry {
  std::string_view client_ip;
  std::string_view method;
  std::string_view host;
  std::string_view path;
  std::string_view protocol;
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double duration = 0;  // seconds
  std::string_view upstream_addr;
  int upstream_status = 0;
  double upstream_duration = -1;  // seconds; negative: no upstream
  std::string_view route;
  std::string_view cluster;
  std::string_view ns;
  std::string_view ingress;
  std::string_view service;
};

// Appends one JSON line (with "\n") for `entry`, stamped with the current time.
void AppendAccessLogLine(const AccessLogEntry& entry, std::string& out);

// Appends `value` as a JSON string literal, escaping quotes, backslashes and
// control bytes so hostile request data cannot break the line.
void AppendJsonString(std::string_view value, std::string& out);

}  // namespace portico::dataplane::proxy
