#pragma once
// Helpers to build and order the translator's diagnostics. Diagnostics are the
// translator's only side channel: every input it drops or repairs is reported
// here, so that the status writer can turn them into Events.

#include <string>
#include <string_view>
#include <vector>

#include "controller/translate/cluster_state.h"
#include "controller/translate/translator.h"

namespace portico::controller::translate {

// Appends diagnostics; not thread-safe (the translator is single-threaded).
class DiagnosticSink {
 public:
  explicit DiagnosticSink(std::vector<Diagnostic>* out) : out_(out) {}

  void Warn(std::string_view kind, const ObjectMeta& meta, std::string_view reason,
            std::string message);
  void Error(std::string_view kind, const ObjectMeta& meta, std::string_view reason,
             std::string message);
  void Add(Diagnostic diagnostic) { out_->push_back(std::move(diagnostic)); }

 private:
  std::vector<Diagnostic>* out_;
};

// Sorts by (kind, namespace, name, reason, message, severity) and removes exact
// duplicates: the same missing Service named by ten paths is one Event.
void SortDiagnostics(std::vector<Diagnostic>& diagnostics);

}  // namespace portico::controller::translate
