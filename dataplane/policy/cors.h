#pragma once
// CORS (enable-cors): the proxy answers preflights itself and owns the
// Access-Control-* headers of a CORS route's responses. Which origins,
// methods and headers a route allows is the controller's decision (snapshot
// Route.cors). Pure functions; no I/O; called on the request's worker.

#include <string>
#include <vector>

#include "dataplane/http/message.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// What a request's Origin means under a route's rule, decided once on the
// request head and used again on the response head.
struct CorsDecision {
  bool allowed = false;    // the request has an Origin the rule allows
  bool preflight = false;  // OPTIONS with Origin and Access-Control-Request-Method
  // Access-Control-Allow-Origin when allowed: "*" for an any-origin rule
  // without credentials (the response is then the same for every origin),
  // else the request's Origin as sent (a credentialed response may not say "*").
  std::string allow_origin;
};

CorsDecision EvaluateCors(const router::CorsRule& rule, const http::RequestHead& head);

// The headers of the proxy's 204 answer to an allowed preflight; the request
// does not reach the upstream. A preflight from an origin the rule does not
// allow is proxied like any request and gets no CORS headers.
std::vector<http::Header> CorsPreflightHeaders(const router::CorsRule& rule,
                                               const CorsDecision& decision);

// On a CORS route's response: drops the upstream's Access-Control-Allow-*,
// -Expose-Headers and -Max-Age (the route's rule decides, and two
// Access-Control-Allow-Origin values make browsers refuse the response),
// adds the rule's for an allowed origin, and adds "Vary: Origin" (the
// response depends on the Origin header) unless the Vary already names it.
void ApplyCorsResponse(const router::CorsRule& rule, const CorsDecision& decision,
                       http::HeaderMap& headers);

}  // namespace portico::dataplane::policy
