#include "dataplane/policy/redirect.h"

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

TEST(RedirectLocationTest, AbsoluteUrlAsGiven) {
  router::RedirectAction r;
  r.scheme = "https";
  r.host = "new.example.com";
  r.port = 443;
  r.path = "/landing";
  r.strip_query = true;
  r.query = "from=old";
  EXPECT_EQ(RedirectLocation(r, "http", "old.example.com:8080", "/x?y=1"),
            "https://new.example.com/landing?from=old");
  r.query.clear();
  EXPECT_EQ(RedirectLocation(r, "http", "old.example.com", "/x?y=1"),
            "https://new.example.com/landing");
  r.port = 8443;
  EXPECT_EQ(RedirectLocation(r, "https", "old.example.com", "/"),
            "https://new.example.com:8443/landing");
}

TEST(RedirectLocationTest, UnsetPartsKeepTheRequestsAndItsPortWithItsScheme) {
  router::RedirectAction app_root;
  app_root.path = "/app";
  app_root.code = 302;
  EXPECT_EQ(RedirectLocation(app_root, "http", "Site.Example.com:8080", "/?a=b"),
            "http://site.example.com:8080/app?a=b");
  router::RedirectAction www;
  www.host = "example.com";
  EXPECT_EQ(RedirectLocation(www, "https", "www.example.com:8443", "/p/q?x"),
            "https://example.com:8443/p/q?x");
  EXPECT_EQ(RedirectLocation(www, "http", "www.example.com", "/"), "http://example.com/");
  router::RedirectAction to_https;
  to_https.scheme = "https";
  EXPECT_EQ(RedirectLocation(to_https, "http", "a.example.com:8080", "/p"),
            "https://a.example.com/p");
  router::RedirectAction v6;
  v6.path = "/x";
  EXPECT_EQ(RedirectLocation(v6, "http", "[::1]:8080", "/"), "http://[::1]:8080/x");
  EXPECT_EQ(RedirectLocation(v6, "http", "[::1]", "/"), "http://[::1]/x");
}

}  // namespace
}  // namespace portico::dataplane::policy
