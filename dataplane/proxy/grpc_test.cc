#include "dataplane/proxy/grpc.h"

#include <gtest/gtest.h>

namespace portico::dataplane::proxy {
namespace {

TEST(GrpcTest, RecognisesGrpcContentTypes) {
  http::HeaderMap h;
  h.Add("content-type", "application/grpc");
  EXPECT_TRUE(IsGrpcRequest(h));
  h.Set("content-type", "application/grpc+proto");
  EXPECT_TRUE(IsGrpcRequest(h));
  h.Set("content-type", "application/grpc-web");
  EXPECT_FALSE(IsGrpcRequest(h));
  h.Set("content-type", "application/json");
  EXPECT_FALSE(IsGrpcRequest(h));
  EXPECT_FALSE(IsGrpcRequest(http::HeaderMap()));
}

TEST(GrpcTest, ParsesTimeouts) {
  EXPECT_DOUBLE_EQ(*ParseGrpcTimeout("100m"), 0.1);
  EXPECT_DOUBLE_EQ(*ParseGrpcTimeout("5S"), 5);
  EXPECT_DOUBLE_EQ(*ParseGrpcTimeout("2M"), 120);
  EXPECT_DOUBLE_EQ(*ParseGrpcTimeout("1H"), 3600);
  EXPECT_DOUBLE_EQ(*ParseGrpcTimeout("1500u"), 0.0015);
  EXPECT_FALSE(ParseGrpcTimeout("5"));
  EXPECT_FALSE(ParseGrpcTimeout("S"));
  EXPECT_FALSE(ParseGrpcTimeout("123456789S"));  // nine digits
  EXPECT_FALSE(ParseGrpcTimeout("-1S"));
  EXPECT_FALSE(ParseGrpcTimeout("1x"));
}

TEST(GrpcTest, ErrorResponseIsTrailersOnly) {
  http::ResponseHead head = GrpcErrorResponse(503, "no ready endpoints\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.has_body);
  EXPECT_EQ(*head.headers.Get("grpc-status"), "14");
  EXPECT_EQ(*head.headers.Get("grpc-message"), "no ready endpoints");
  EXPECT_EQ(*GrpcErrorResponse(504, "").headers.Get("grpc-status"), "4");
  EXPECT_FALSE(GrpcErrorResponse(504, "").headers.Has("grpc-message"));
  EXPECT_EQ(GrpcStatusFor(404), 12);
}

}  // namespace
}  // namespace portico::dataplane::proxy
