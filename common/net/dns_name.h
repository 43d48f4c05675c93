#pragma once
// DNS-1123 names as Kubernetes validates Ingress hosts. One definition for the
// translator and the data plane's router: if they disagreed, the data plane
// would reject snapshots the translator considered valid.

#include <string_view>

namespace portico::net {

// Lower-case alphanumerics and '-', not starting or ending with '-', 1..63 bytes.
bool IsDnsLabel(std::string_view label);
// Dot-separated DNS labels, at most 253 bytes.
bool IsDnsName(std::string_view name);

}  // namespace portico::net
