#include "dataplane/policy/header_rewrite.h"

namespace portico::dataplane::policy {

void ApplyHeaderEdits(const std::vector<router::HeaderEdit>& edits, http::HeaderMap& headers) {
  for (const router::HeaderEdit& edit : edits) {
    switch (edit.kind) {
      case router::HeaderEdit::Kind::kSet:
        headers.Set(edit.name, edit.value);
        break;
      case router::HeaderEdit::Kind::kAdd:
        headers.Add(edit.name, edit.value);
        break;
      case router::HeaderEdit::Kind::kRemove:
        headers.Remove(edit.name);
        break;
    }
  }
}

void RemoveHeaders(const std::vector<std::string>& names, http::HeaderMap& headers) {
  if (names.empty()) return;
  headers.EraseIf([&](const http::Header& h) {
    for (const std::string& name : names) {
      if (h.name == name) return true;
    }
    return false;
  });
}

}  // namespace portico::dataplane::policy
