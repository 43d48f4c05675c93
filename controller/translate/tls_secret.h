#pragma once
// Whether a kubernetes.io/tls Secret holds something the data plane can serve:
// the PEM chain and key parse, the key belongs to the leaf, and no
// certificate of the chain has expired. Pure: the clock is an argument.
// Messages never quote the Secret's data.

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "controller/translate/cluster_state.h"

namespace portico::controller::translate {

inline constexpr char kTlsSecretType[] = "kubernetes.io/tls";

// A certificate closer than this to its notAfter is still served, with a warning.
inline constexpr absl::Duration kCertificateExpiryWarning = absl::Hours(14 * 24);

struct TlsSecretCheck {
  std::string error;    // empty: usable; else why not (unusable Secrets are skipped)
  std::string warning;  // usable, but expires within kCertificateExpiryWarning
  // The check gives the same answer at any later time up to and including
  // this one (the next notAfter, or start of a warning, that `now` has not
  // passed); unset: at any later time.
  std::optional<absl::Time> stable_until;
};

// `now` unset: expiry is not checked.
TlsSecretCheck CheckTlsSecret(const Secret& secret, std::optional<absl::Time> now);

// Whether a Secret (of any type) has a ca.crt of PEM certificates that all
// parse, as trust anchors for upstream TLS: empty when it has, else why not.
std::string CheckCaBundle(const Secret& secret);

}  // namespace portico::controller::translate
