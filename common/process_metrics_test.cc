#include "common/process_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::metrics {
namespace {

using ::testing::HasSubstr;

TEST(ParseProcStatTest, ReadsFieldsAfterACommandNameWithSpacesAndParens) {
  // pid (comm) state ppid ... utime(14)=250 stime(15)=50 ... starttime(22)=1000
  // vsize(23)=4096000 rss(24)=100
  std::string stat =
      "1234 (we ird) (name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 "
      "4096000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  auto s = ParseProcStat(stat, 100, 1700000000, 4096);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(s->start_time, 1700000010.0);
  EXPECT_EQ(s->virtual_bytes, 4096000u);
  EXPECT_EQ(s->resident_bytes, 409600u);
}

TEST(ParseProcStatTest, RejectsTruncatedInput) {
  EXPECT_FALSE(ParseProcStat("1234 (x) S 1 2 3", 100, 0, 4096).has_value());
  EXPECT_FALSE(ParseProcStat("garbage", 100, 0, 4096).has_value());
}

TEST(ProcessMetricsTest, ReadsThisProcess) {
  auto s = ReadProcessStats();
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident_bytes, 0u);
  EXPECT_GE(s->open_fds, 3u);  // stdin, stdout, stderr
  EXPECT_GT(s->start_time, 1e9);
  TextWriter out;
  RenderProcessMetrics(out);
  for (const char* family : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_open_fds", "process_start_time_seconds"}) {
    EXPECT_THAT(out.text(), HasSubstr(std::string("# TYPE ") + family));
  }
}

}  // namespace
}  // namespace portico::metrics
