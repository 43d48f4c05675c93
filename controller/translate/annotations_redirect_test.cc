// pol-redir annotations: the redirect URL grammar, rewrite-target syntax, and
// the typed fields each annotation sets (or reports).
#include "controller/translate/annotations_redirect.h"

#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/test_util.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

TEST(RedirectUrlTest, ParsesTheParts) {
  auto u = ParseRedirectUrl("HTTPS://Example.COM:8443/a/b%20c?x=1&y=/z?");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8443u);
  EXPECT_EQ(u->path, "/a/b%20c");
  EXPECT_EQ(u->query, "x=1&y=/z?");
  EXPECT_TRUE(u->has_query);
  auto bare = ParseRedirectUrl("http://example.com");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->path, "");
  EXPECT_EQ(bare->port, 0u);
  EXPECT_FALSE(bare->has_query);
  auto v6 = ParseRedirectUrl("http://[2001:db8::1]:80/x");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "[2001:db8::1]");
  EXPECT_EQ(ParseRedirectUrl("http://10.0.0.1?q")->query, "q");
}

TEST(RedirectUrlTest, RejectsWhatIsNotAnHttpUrl) {
  for (const char* bad : {"",
                          "/relative",
                          "example.com/x",
                          "ftp://example.com/",
                          "javascript://x",
                          "http://",
                          "http:///x",
                          "http://exa mple.com/",
                          "http://example.com/a b",
                          "http://example.com/\r\nX: y",
                          "http://example.com/\n",
                          "http://user:pw@example.com/",
                          "http://example.com:0/",
                          "http://example.com:65536/",
                          "http://example.com:8x/",
                          "http://example.com/#frag",
                          "http://example.com/%zz",
                          "http://example.com/%2",
                          "http://[::1/",
                          "http://[zz::1]/",
                          "http://-bad-.com/",
                          "http://example.com/\xc3\xa9",
                          "http://example.com/a\"b",
                          "http://example.com/<x>"}) {
    EXPECT_FALSE(ParseRedirectUrl(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseRedirectUrl(std::string_view("http://example.com/\0", 20)).ok());
}

TEST(RewriteTargetTest, Syntax) {
  bool captures = true;
  EXPECT_TRUE(ParseRewriteTarget("/", &captures));
  EXPECT_FALSE(captures);
  EXPECT_TRUE(ParseRewriteTarget("/v1/$2/x$1", &captures));
  EXPECT_TRUE(captures);
  for (const char* bad :
       {"", "$1", "v1", "/$", "/$0", "/$a", "/a?b", "/a#b", "/a b", "/a\nb", "/$10"}) {
    // "/$10" is $1 followed by "0": valid.
    if (std::string(bad) == "/$10") {
      EXPECT_TRUE(ParseRewriteTarget(bad, &captures));
      continue;
    }
    EXPECT_FALSE(ParseRewriteTarget(bad, &captures)) << bad;
  }
}

struct Parsed {
  IngressAnnotations annotations;
  std::vector<Diagnostic> diagnostics;
};

Parsed Parse(std::map<std::string, std::string> annotations) {
  Ingress ingress = testing::MakeIngress("web", "a.example.com", {});
  ingress.meta.annotations = std::move(annotations);
  Parsed p;
  DiagnosticSink sink(&p.diagnostics);
  p.annotations = ParseAnnotations(ingress, HttpsOptions{}, sink);
  return p;
}

bool HasReason(const Parsed& p, std::string_view reason) {
  for (const Diagnostic& d : p.diagnostics) {
    if (d.reason == reason) return true;
  }
  return false;
}

TEST(RedirectAnnotationsTest, PermanentAndTemporal) {
  auto p = Parse({{"nginx.ingress.kubernetes.io/permanent-redirect", "https://n.example.com/x?a=1"},
                  {"nginx.ingress.kubernetes.io/permanent-redirect-code", "308"}});
  ASSERT_TRUE(p.annotations.redirects.redirect);
  const v1::Redirect& r = *p.annotations.redirects.redirect;
  EXPECT_EQ(r.scheme(), "https");
  EXPECT_EQ(r.host(), "n.example.com");
  EXPECT_EQ(r.port(), 443u);
  EXPECT_EQ(r.path(), "/x");
  EXPECT_EQ(r.query(), "a=1");
  EXPECT_TRUE(r.strip_query());
  EXPECT_EQ(r.code(), 308u);
  EXPECT_TRUE(p.diagnostics.empty());

  auto t = Parse({{"portico.dev/temporal-redirect", "http://t.example.com"},
                  {"portico.dev/permanent-redirect", "http://p.example.com"}});
  ASSERT_TRUE(t.annotations.redirects.redirect);
  EXPECT_EQ(t.annotations.redirects.redirect->host(), "t.example.com");
  EXPECT_EQ(t.annotations.redirects.redirect->code(), 302u);
  EXPECT_EQ(t.annotations.redirects.redirect->path(), "/");
  EXPECT_TRUE(HasReason(t, "IgnoredAnnotation"));
}

TEST(RedirectAnnotationsTest, InvalidUrlOrCodeDisablesTheRedirect) {
  auto url =
      Parse({{"portico.dev/permanent-redirect", "https://x.example.com/a\r\nSet-Cookie: a"}});
  EXPECT_FALSE(url.annotations.redirects.redirect);
  EXPECT_TRUE(HasReason(url, "InvalidAnnotation"));
  auto code = Parse({{"portico.dev/temporal-redirect", "https://x.example.com/"},
                     {"portico.dev/temporal-redirect-code", "200"}});
  EXPECT_FALSE(code.annotations.redirects.redirect);
  EXPECT_TRUE(HasReason(code, "InvalidAnnotation"));
  auto code304 = Parse({{"portico.dev/permanent-redirect", "https://x.example.com/"},
                        {"portico.dev/permanent-redirect-code", "304"}});
  EXPECT_FALSE(code304.annotations.redirects.redirect);
}

TEST(RedirectAnnotationsTest, AppRootWwwAndRewrite) {
  auto p = Parse({{"nginx.ingress.kubernetes.io/app-root", "/app"},
                  {"nginx.ingress.kubernetes.io/from-to-www-redirect", "true"},
                  {"nginx.ingress.kubernetes.io/rewrite-target", "/$2"},
                  {"nginx.ingress.kubernetes.io/x-forwarded-prefix", "/svc"},
                  {"nginx.ingress.kubernetes.io/upstream-vhost", "Internal.Example:8080"}});
  EXPECT_TRUE(p.diagnostics.empty());
  EXPECT_EQ(p.annotations.redirects.app_root, "/app");
  EXPECT_TRUE(p.annotations.redirects.from_to_www);
  EXPECT_TRUE(p.annotations.redirects.rewrite_captures);
  EXPECT_TRUE(p.annotations.use_regex);  // implied by the capture groups
  const v1::Rewrite& w = p.annotations.route_policy.rewrite();
  EXPECT_EQ(w.target(), "/$2");
  EXPECT_EQ(w.forwarded_prefix(), "/svc");
  EXPECT_EQ(w.upstream_host(), "internal.example:8080");

  auto explicit_off =
      Parse({{"portico.dev/rewrite-target", "/$1"}, {"portico.dev/use-regex", "false"}});
  EXPECT_FALSE(explicit_off.annotations.use_regex);
}

TEST(RedirectAnnotationsTest, InvalidRewriteValues) {
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"rewrite-target", "no-slash"},
                                                        {"rewrite-target", "/$0"},
                                                        {"x-forwarded-prefix", ""},
                                                        {"upstream-vhost", "a b"},
                                                        {"upstream-vhost", "$host"},
                                                        {"upstream-vhost", "h:99999"},
                                                        {"app-root", "/"},
                                                        {"app-root", "app"},
                                                        {"app-root", "/a?b"}}) {
    auto p = Parse({{"portico.dev/" + name, value}});
    EXPECT_TRUE(HasReason(p, "InvalidAnnotation")) << name << "=" << value;
    EXPECT_FALSE(p.annotations.route_policy.has_rewrite()) << name << "=" << value;
    EXPECT_TRUE(p.annotations.redirects.app_root.empty());
  }
}

TEST(SnippetTest, EverySnippetIsRefusedUnderEitherPrefix) {
  auto p = Parse({{"nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers x;"},
                  {"nginx.ingress.kubernetes.io/server-snippet", "return 200;"},
                  {"portico.dev/auth-snippet", "x"},
                  {"nginx.ingress.kubernetes.io/custom-thing-snippet", "x"}});
  int refused = 0;
  for (const Diagnostic& d : p.diagnostics) {
    EXPECT_EQ(d.reason, "SnippetRefused") << d.message;  // no UnknownAnnotation either
    refused += d.reason == "SnippetRefused";
  }
  EXPECT_EQ(refused, 4);
}

}  // namespace
}  // namespace portico::controller::translate
