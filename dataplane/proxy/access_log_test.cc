#include "dataplane/proxy/access_log.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace portico::dataplane::proxy {
namespace {

TEST(AccessLogTest, LineIsOneJsonObjectWithEveryField) {
  AccessLogEntry e;
  e.client_ip = "10.0.0.1";
  e.method = "GET";
  e.host = "evil\"\n.example";
  e.path = "/a\\b\x01\xff";
  e.protocol = "HTTP/1.1";
  e.status = 200;
  e.bytes_in = 3;
  e.bytes_out = 5;
  e.duration = 0.25;
  e.upstream_addr = "127.0.0.1:80";
  e.upstream_duration = 0.125;
  e.route = "r";
  e.cluster = "c";
  std::string line;
  AppendAccessLogLine(e, line);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1) << "hostile input must not split the line";
  auto j = nlohmann::json::parse(line);
  for (const char* field :
       {"time", "client_ip", "method", "host", "path", "protocol", "status", "bytes_in",
        "bytes_out", "duration", "upstream_addr", "upstream_duration", "route", "cluster"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["host"], "evil\"\n.example");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["upstream_duration"].get<double>(), 0.125);
}

TEST(AccessLogTest, NoUpstreamIsNull) {
  AccessLogEntry e;
  std::string line;
  AppendAccessLogLine(e, line);
  auto j = nlohmann::json::parse(line);
  EXPECT_TRUE(j["upstream_duration"].is_null());
}

}  // namespace
}  // namespace portico::dataplane::proxy
