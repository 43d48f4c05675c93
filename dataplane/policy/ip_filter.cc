#include "dataplane/policy/ip_filter.h"

namespace portico::dataplane::policy {

bool IpFilterAllows(const router::IpFilterRule& rule, const net::IpAddress& client) {
  if (!rule.active) return true;
  if (rule.deny_all || !client.valid()) return false;
  if (rule.deny.Contains(client)) return false;
  return rule.allow.empty() || rule.allow.Contains(client);
}

}  // namespace portico::dataplane::policy
