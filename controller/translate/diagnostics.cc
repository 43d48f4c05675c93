#include "controller/translate/diagnostics.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace portico::controller::translate {
namespace {

Diagnostic Make(Diagnostic::Severity severity, std::string_view kind, const ObjectMeta& meta,
                std::string_view reason, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.kind = std::string(kind);
  d.ns = meta.ns;
  d.name = meta.name;
  d.uid = meta.uid;
  d.reason = std::string(reason);
  d.message = std::move(message);
  return d;
}

}  // namespace

void DiagnosticSink::Warn(std::string_view kind, const ObjectMeta& meta, std::string_view reason,
                          std::string message) {
  Add(Make(Diagnostic::Severity::kWarning, kind, meta, reason, std::move(message)));
}

void DiagnosticSink::Error(std::string_view kind, const ObjectMeta& meta, std::string_view reason,
                           std::string message) {
  Add(Make(Diagnostic::Severity::kError, kind, meta, reason, std::move(message)));
}

void SortDiagnostics(std::vector<Diagnostic>& diagnostics) {
  auto key = [](const Diagnostic& d) {
    return std::tie(d.kind, d.ns, d.name, d.reason, d.message, d.severity);
  };
  std::sort(diagnostics.begin(), diagnostics.end(),
            [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end()), diagnostics.end());
}

}  // namespace portico::controller::translate
