#include "dataplane/proxy/request_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RequestKeyView Key(std::string_view ns, std::string_view ingress, std::string_view service,
                   std::string_view method, uint16_t status, std::string_view host = "") {
  return RequestKeyView(ns, ingress, service, host, MethodIndex(method), status);
}

TEST(MethodIndexTest, KnownMethodsKeepTheirNameOthersBecomeOther) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    EXPECT_EQ(kMethodNames[MethodIndex(m)], m);
  }
  EXPECT_EQ(kMethodNames[MethodIndex("PROPFIND")], "other");
  EXPECT_EQ(kMethodNames[MethodIndex("get")], "other");
  EXPECT_EQ(kMethodNames[MethodIndex("")], "other");
}

TEST(RequestMetricsTest, RecordCountsPerLabelSetAndBucket) {
  RequestMetrics m;
  m.Record(Key("default", "web", "svc", "GET", 200), 0.0003);
  m.Record(Key("default", "web", "svc", "GET", 200), 0.2);
  m.Record(Key("default", "web", "svc", "GET", 404), 0.2);
  m.Record(Key("", "", "", "BREW", 404), 0.2);
  ASSERT_EQ(m.series().size(), 3u);
  const RequestValues& ok = m.series().find(Key("default", "web", "svc", "GET", 200))->second;
  EXPECT_EQ(ok.count, 2u);
  EXPECT_EQ(ok.buckets[0], 1u);  // <= 0.0005
  EXPECT_EQ(ok.buckets[8], 1u);  // <= 0.25
  EXPECT_DOUBLE_EQ(ok.sum, 0.2003);
  EXPECT_EQ(m.series().find(Key("", "", "", "other", 404))->second.count, 1u);
}

TEST(RequestMetricsTest, OutOfRangeStatusBecomesZero) {
  RequestMetrics m;
  m.Record(Key("a", "b", "c", "GET", 42), 0.1);
  EXPECT_EQ(m.series().begin()->first.status, 0);
}

TEST(RequestMetricsTest, SeriesBeyondTheCapFoldIntoCoarserOnes) {
  RequestMetrics m;
  std::vector<std::string> hosts;
  for (size_t i = 0; i < RequestMetrics::kMaxSeries + 50; ++i) hosts.push_back(std::to_string(i));
  for (const auto& h : hosts) m.Record(Key("ns", "ing", "svc", "GET", 200, h), 0.1);
  // The cap, plus the one host-less series the overflow folded into.
  EXPECT_EQ(m.series().size(), RequestMetrics::kMaxSeries + 1);
  auto folded = m.series().find(Key("ns", "ing", "svc", "GET", 200));
  ASSERT_NE(folded, m.series().end());
  EXPECT_EQ(folded->second.count, 50u);
  // Route labels come from the config and are kept past the cap.
  m.Record(Key("ns2", "other-ing", "svc2", "POST", 201), 0.1);
  EXPECT_NE(m.series().find(Key("ns2", "other-ing", "svc2", "POST", 201)), m.series().end());
}

TEST(MergeSeriesTest, AddsCountsBucketsAndSums) {
  RequestMetrics a, b;
  a.Record(Key("ns", "ing", "svc", "GET", 200), 0.001);
  b.Record(Key("ns", "ing", "svc", "GET", 200), 3);
  b.Record(Key("ns", "ing", "svc", "POST", 500), 0.01);
  RequestSeries total;
  MergeSeries(total, a.series());
  MergeSeries(total, b.series());
  ASSERT_EQ(total.size(), 2u);
  const RequestValues& get = total.find(Key("ns", "ing", "svc", "GET", 200))->second;
  EXPECT_EQ(get.count, 2u);
  EXPECT_EQ(get.buckets[1], 1u);   // <= 0.001
  EXPECT_EQ(get.buckets[12], 1u);  // <= 5
  EXPECT_DOUBLE_EQ(get.sum, 3.001);
  EXPECT_EQ(total.find(Key("ns", "ing", "svc", "POST", 500))->second.count, 1u);
}

TEST(RenderRequestSeriesTest, PorticoFamiliesWithoutHost) {
  RequestMetrics m;
  m.Record(Key("ns", "ing", "svc", "GET", 200), 0.001);
  m.Record(Key("", "", "", "PUT", 404), 0.001);
  metrics::TextWriter out;
  RenderRequestSeries(m.series(), {}, out);
  const std::string& text = out.text();
  EXPECT_THAT(text, HasSubstr("# TYPE portico_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("portico_requests_total{namespace=\"ns\",ingress=\"ing\",service="
                              "\"svc\",method=\"GET\",status=\"200\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("portico_requests_total{namespace=\"\",ingress=\"\",service=\"\","
                              "method=\"PUT\",status=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("portico_request_duration_seconds_bucket{namespace=\"ns\",ingress="
                              "\"ing\",service=\"svc\",method=\"GET\",status=\"200\",le=\"0.001\"}"
                              " 1\n"));
  EXPECT_THAT(text, HasSubstr("portico_request_duration_seconds_count{namespace=\"ns\",ingress="
                              "\"ing\",service=\"svc\",method=\"GET\",status=\"200\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("host=")));
  EXPECT_THAT(text, Not(HasSubstr("nginx_ingress_controller")));
  // Sorted: the unrouted series (empty namespace) comes first.
  EXPECT_LT(text.find("status=\"404\""), text.find("status=\"200\""));
}

TEST(RenderRequestSeriesTest, PerHostAddsHostLabel) {
  RequestMetrics m;
  m.Record(Key("ns", "ing", "svc", "GET", 200, "a.example"), 0.001);
  m.Record(Key("ns", "ing", "svc", "GET", 200, "b.example"), 0.001);
  metrics::TextWriter with_host;
  RenderRequestSeries(m.series(), {.per_host = true}, with_host);
  EXPECT_THAT(with_host.text(), HasSubstr("status=\"200\",host=\"a.example\"} 1\n"));
  EXPECT_THAT(with_host.text(), HasSubstr("status=\"200\",host=\"b.example\"} 1\n"));
  // Rendered without per-host, the two hosts are one series.
  metrics::TextWriter without;
  RenderRequestSeries(m.series(), {}, without);
  EXPECT_THAT(without.text(), HasSubstr("method=\"GET\",status=\"200\"} 2\n"));
}

TEST(RenderRequestSeriesTest, NginxCompatUsesIngressNginxLabels) {
  RequestMetrics m;
  m.Record(Key("ns", "ing", "svc", "DELETE", 503, "h.example"), 0.02);
  metrics::TextWriter out;
  RenderRequestSeries(m.series(), {.nginx_compat = true}, out);
  const std::string& text = out.text();
  EXPECT_THAT(text, HasSubstr("# TYPE nginx_ingress_controller_requests counter\n"));
  EXPECT_THAT(text, HasSubstr("nginx_ingress_controller_requests{ingress=\"ing\",namespace=\"ns\","
                              "service=\"svc\",status=\"503\",method=\"DELETE\",host=\"\","
                              "path=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE nginx_ingress_controller_request_duration_seconds "
                              "histogram\n"));
  EXPECT_THAT(text, HasSubstr("nginx_ingress_controller_request_duration_seconds_bucket{ingress="
                              "\"ing\",namespace=\"ns\",service=\"svc\",status=\"503\",method="
                              "\"DELETE\",host=\"\",path=\"\",le=\"0.025\"} 1\n"));
  metrics::TextWriter per_host;
  RenderRequestSeries(m.series(), {.per_host = true, .nginx_compat = true}, per_host);
  EXPECT_THAT(per_host.text(), HasSubstr("host=\"h.example\",path=\"\"} 1\n"));
}

TEST(RenderRequestSeriesTest, EmptySeriesStillDeclaresFamilies) {
  metrics::TextWriter out;
  RenderRequestSeries({}, {}, out);
  EXPECT_THAT(out.text(), HasSubstr("# TYPE portico_requests_total counter\n"));
  EXPECT_THAT(out.text(), HasSubstr("# TYPE portico_request_duration_seconds histogram\n"));
}

TEST(RejectionsTest, CodecStatusesMapToPolicies) {
  EXPECT_EQ(PolicyForCodecStatus(413), RejectPolicy::kBodySize);
  EXPECT_EQ(PolicyForCodecStatus(431), RejectPolicy::kHeaderSize);
  EXPECT_EQ(PolicyForCodecStatus(414), RejectPolicy::kHeaderSize);
  for (int status : {400, 405, 408, 417, 505, 0}) {
    EXPECT_EQ(PolicyForCodecStatus(status), RejectPolicy::kProtocol) << status;
  }
}

TEST(RejectionsTest, EveryPolicyIsRenderedEvenAtZero) {
  std::array<uint64_t, kRejectPolicies> counts{};
  counts[static_cast<size_t>(RejectPolicy::kBodySize)] = 3;
  metrics::TextWriter out;
  RenderRejections(counts, out);
  const std::string& text = out.text();
  EXPECT_THAT(text, HasSubstr("# TYPE portico_requests_rejected_total counter\n"));
  EXPECT_THAT(text, HasSubstr("portico_requests_rejected_total{policy=\"body_size\"} 3\n"));
  for (const char* policy : {"header_size", "protocol", "h2_flood"}) {
    EXPECT_THAT(text, HasSubstr(std::string("portico_requests_rejected_total{policy=\"") + policy +
                                "\"} 0\n"));
  }
}

}  // namespace
}  // namespace portico::dataplane::proxy
