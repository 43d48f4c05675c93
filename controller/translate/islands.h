#pragma once
// Islands: the served Ingresses grouped so that no Ingress can change what
// an Ingress of another island gives. Ingresses meet only on hosts: path
// conflicts, canaries, certificates (offered by the Ingresses that route a
// host) and www redirects (a host and its www counterpart) are all per
// host. What they share beyond hosts (clusters, Secrets, credentials) is
// named by what it is made of, so any island that asks for a name gets the
// same thing. A translation can therefore keep an island's output while its
// Ingresses are unchanged (translator.cc).

#include <cstddef>
#include <string>
#include <vector>

#include "controller/translate/cluster_state.h"

namespace portico::controller::translate {

// The hosts through which `ingress` can meet others: each valid rule host,
// its www counterpart ("www.a.com" for "a.com" and the reverse, whether or
// not from-to-www-redirect is on: joining too much is only slower), and ""
// (the catch-all) for a defaultBackend without rules.
std::vector<std::string> HostKeys(const Ingress& ingress);

// `keys[i]`: the HostKeys of the i-th served Ingress (oldest first). Each
// island lists its Ingresses' indices in ascending order; islands come in
// the order of their first index. Every index is in exactly one island.
std::vector<std::vector<size_t>> GroupIntoIslands(
    const std::vector<const std::vector<std::string>*>& keys);

}  // namespace portico::controller::translate
