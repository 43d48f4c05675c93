#include "controller/translate/endpoints.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/status/statusor.h"
#include "common/net/ip_address.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

std::optional<uint32_t> SlicePort(const EndpointSlice& slice, const ServicePort& port) {
  for (const EndpointPort& p : slice.ports) {
    if (p.name == port.name && p.port.has_value()) return static_cast<uint32_t>(*p.port);
  }
  // A slice that lists ports but not this one holds Pods that do not serve it
  // (the EndpointSlice controller groups Pods by resolved ports). One with no
  // ports at all is hand-written: the Service's numeric target applies.
  if (!slice.ports.empty()) return std::nullopt;
  if (port.target_port_number.has_value()) return static_cast<uint32_t>(*port.target_port_number);
  if (!port.target_port_name.has_value()) return static_cast<uint32_t>(port.port);
  return std::nullopt;
}

bool Usable(const v1::Endpoint& e) { return e.ready() && !e.terminating(); }

}  // namespace

SliceIndex::SliceIndex(const std::vector<EndpointSlice>& slices) {
  for (const EndpointSlice& s : slices) by_service_[{s.meta.ns, s.service_name}].push_back(&s);
  for (auto& [key, list] : by_service_) {
    std::sort(list.begin(), list.end(), [](const EndpointSlice* a, const EndpointSlice* b) {
      return a->meta.name < b->meta.name;
    });
  }
}

const std::vector<const EndpointSlice*>& SliceIndex::For(const std::string& ns,
                                                         const std::string& service) const {
  static const std::vector<const EndpointSlice*> kNone;
  auto it = by_service_.find({ns, service});
  return it == by_service_.end() ? kNone : it->second;
}

std::vector<v1::Endpoint> BuildEndpoints(const Service& service, const ServicePort& port,
                                         const std::vector<const EndpointSlice*>& slices,
                                         DiagnosticSink& diagnostics) {
  std::vector<v1::Endpoint> result;
  int ip_slices = 0;
  int port_slices = 0;
  for (const EndpointSlice* slice : slices) {
    if (slice->address_type != "IPv4" && slice->address_type != "IPv6") {
      diagnostics.Warn("EndpointSlice", slice->meta, "UnsupportedAddressType",
                       portico::StrCat("addressType ", slice->address_type,
                                       " is not supported (IPv4 and IPv6 only); slice skipped"));
      continue;
    }
    ++ip_slices;
    std::optional<uint32_t> target = SlicePort(*slice, port);
    if (!target.has_value() || *target == 0 || *target > 65535) continue;
    ++port_slices;
    for (const SliceEndpoint& e : slice->endpoints) {
      // Kubernetes: unset ready means ready, unset serving means as ready,
      // unset terminating means not terminating.
      bool ready = e.conditions.ready.value_or(true);
      for (const std::string& address : e.addresses) {
        absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(address);
        if (!ip.ok()) {
          diagnostics.Warn(
              "EndpointSlice", slice->meta, "InvalidEndpointAddress",
              portico::StrCat("address \"", address, "\" is not an IP literal; skipped"));
          continue;
        }
        v1::Endpoint& out = result.emplace_back();
        out.set_address(ip->ToString());
        out.set_port(*target);
        out.set_ready(ready);
        out.set_serving(e.conditions.serving.value_or(ready));
        out.set_terminating(e.conditions.terminating.value_or(false));
        out.set_zone(e.zone);
      }
    }
  }
  if (ip_slices > 0 && port_slices == 0) {
    diagnostics.Warn("Service", service.meta, "EndpointPortNotFound",
                     portico::StrCat("no EndpointSlice has a port named \"", port.name,
                                     "\" (Service port ", port.port, "); it has no endpoints"));
  }
  // One entry per (address, port): slices overlap while the EndpointSlice
  // controller rewrites them. A usable copy beats an unusable one; otherwise
  // the first in slice-name order wins.
  auto key = [](const v1::Endpoint& e) { return std::make_tuple(e.address(), e.port()); };
  std::stable_sort(result.begin(), result.end(), [&](const v1::Endpoint& a, const v1::Endpoint& b) {
    if (key(a) != key(b)) return key(a) < key(b);
    return Usable(a) && !Usable(b);
  });
  auto dup = std::unique(result.begin(), result.end(),
                         [&](const auto& a, const auto& b) { return key(a) == key(b); });
  result.erase(dup, result.end());
  return result;
}

}  // namespace portico::controller::translate
