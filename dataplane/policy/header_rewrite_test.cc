#include "dataplane/policy/header_rewrite.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using Kind = router::HeaderEdit::Kind;

std::vector<std::pair<std::string, std::string>> All(const http::HeaderMap& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const http::Header& h : headers) out.emplace_back(h.name, h.value);
  return out;
}

TEST(HeaderRewriteTest, SetAddRemoveInOrder) {
  http::HeaderMap headers;
  headers.Add("x-a", "1");
  headers.Add("x-a", "2");
  headers.Add("x-b", "keep");
  headers.Add("x-gone", "bye");
  ApplyHeaderEdits({{Kind::kSet, "x-a", "only"},
                    {Kind::kAdd, "x-b", "more"},
                    {Kind::kRemove, "x-gone", ""},
                    {Kind::kAdd, "x-new", "v"},
                    {Kind::kSet, "x-new", "w"}},
                   headers);
  EXPECT_THAT(All(headers), ElementsAre(Pair("x-a", "only"), Pair("x-b", "keep"),
                                        Pair("x-b", "more"), Pair("x-new", "w")));
}

TEST(HeaderRewriteTest, RemoveHeadersDropsEveryValue) {
  http::HeaderMap headers;
  headers.Add("server", "gunicorn");
  headers.Add("x-powered-by", "PHP");
  headers.Add("content-type", "text/plain");
  headers.Add("x-powered-by", "again");
  RemoveHeaders({"server", "x-powered-by"}, headers);
  EXPECT_THAT(All(headers), ElementsAre(Pair("content-type", "text/plain")));
  RemoveHeaders({}, headers);
  EXPECT_EQ(headers.size(), 1u);
}

}  // namespace
}  // namespace portico::dataplane::policy
