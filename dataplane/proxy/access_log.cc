#include "dataplane/proxy/access_log.h"

#include "common/time_format.h"

#include <cstdio>

namespace portico::dataplane::proxy {

using ::portico::FormatNowRfc3339Millis;
using ::portico::kRfc3339MillisSize;

void AppendJsonString(std::string_view value, std::string& out) {
  out += '"';
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          // Non-ASCII bytes are escaped too: request data need not be UTF-8.
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {

void AppendField(std::string_view name, std::string_view value, std::string& out) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(value, out);
}

void AppendNumberField(std::string_view name, double value, const char* format, std::string& out) {
  char buf[48];
  snprintf(buf, sizeof(buf), format, value);
  out += ",\"";
  out += name;
  out += "\":";
  out += buf;
}

}  // namespace

void AppendAccessLogLine(const AccessLogEntry& e, std::string& out) {
  char stamp[kRfc3339MillisSize];
  FormatNowRfc3339Millis(stamp);
  out += "{\"time\":\"";
  out += stamp;
  out += '"';
  AppendField("client_ip", e.client_ip, out);
  AppendField("method", e.method, out);
  AppendField("host", e.host, out);
  AppendField("path", e.path, out);
  AppendField("protocol", e.protocol, out);
  AppendNumberField("status", e.status, "%.0f", out);
  AppendNumberField("bytes_in", static_cast<double>(e.bytes_in), "%.0f", out);
  AppendNumberField("bytes_out", static_cast<double>(e.bytes_out), "%.0f", out);
  AppendNumberField("duration", e.duration, "%.6f", out);
  AppendField("upstream_addr", e.upstream_addr, out);
  AppendNumberField("upstream_status", e.upstream_status, "%.0f", out);
  if (e.upstream_duration >= 0) {
    AppendNumberField("upstream_duration", e.upstream_duration, "%.6f", out);
  } else {
    out += ",\"upstream_duration\":null";
  }
  AppendField("route", e.route, out);
  AppendField("cluster", e.cluster, out);
  AppendField("namespace", e.ns, out);
  AppendField("ingress", e.ingress, out);
  AppendField("service", e.service, out);
  out += "}\n";
}

}  // namespace portico::dataplane::proxy
