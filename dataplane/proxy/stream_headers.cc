// Stream's header policies: CORS (preflights answered here, Access-Control-*
// on responses), the route's request-headers and response-headers edits, the
// settings' hide-headers / hide-backend-identity on upstream responses and
// server-tokens on the responses Portico generates (101 websocket answers
// included, their handshake fields untouched). The logic is in
// dataplane/policy/; these are the hooks that apply it.
#include "dataplane/policy/cors.h"
#include "dataplane/policy/header_rewrite.h"
#include "dataplane/proxy/stream.h"

namespace portico::dataplane::proxy {

void Stream::EvaluateCors(const http::RequestHead& head) {
  if (route_ != nullptr && route_->cors) cors_ = policy::EvaluateCors(*route_->cors, head);
}

bool Stream::AnswerCorsPreflight() {
  if (route_ == nullptr || !route_->cors || !cors_.preflight || !cors_.allowed) return false;
  LocalReply(204, {}, policy::CorsPreflightHeaders(*route_->cors, cors_));
  return true;
}

void Stream::ApplyRequestHeaderPolicies(http::RequestHead& head) {
  if (route_ != nullptr) policy::ApplyHeaderEdits(route_->request_headers, head.headers);
}

void Stream::ApplyResponseHeaderPolicies(http::ResponseHead& head) {
  policy::RemoveHeaders(config_->settings.hide_headers, head.headers);
  if (route_ == nullptr) return;
  policy::ApplyHeaderEdits(route_->response_headers, head.headers);
  if (route_->cors) policy::ApplyCorsResponse(*route_->cors, cors_, head.headers);
}

void Stream::ApplyUpgradeHeaderPolicies(http::ResponseHead& head) {
  // The handshake's own fields (Sec-WebSocket-Accept, -Protocol,
  // -Extensions) stay as the backend sent them, whatever the edits say;
  // Upgrade and Connection are the codec's and no edit may name them.
  auto is_handshake = [](std::string_view name) { return name.starts_with("sec-websocket-"); };
  std::vector<http::Header> handshake;
  for (const http::Header& h : head.headers) {
    if (is_handshake(h.name)) handshake.push_back(h);
  }
  ApplyResponseHeaderPolicies(head);
  std::vector<std::string> edited;
  for (const http::Header& h : head.headers) {
    if (is_handshake(h.name)) edited.emplace_back(h.name);
  }
  for (const std::string& name : edited) head.headers.Remove(name);
  for (http::Header& h : handshake) head.headers.Add(std::move(h));
}

void Stream::ApplyLocalReplyHeaders(http::ResponseHead& head) {
  if (config_ != nullptr && config_->settings.server_tokens) head.headers.Set("server", "portico");
  if (route_ == nullptr) return;
  policy::ApplyHeaderEdits(route_->response_headers, head.headers);
  // The preflight answer carries its own Access-Control-* set.
  if (route_->cors && !(cors_.preflight && cors_.allowed)) {
    policy::ApplyCorsResponse(*route_->cors, cors_, head.headers);
  }
}

}  // namespace portico::dataplane::proxy
