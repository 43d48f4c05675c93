#include "controller/translate/class_filter.h"

#include "common/strings.h"

namespace portico::controller::translate {

ClassFilter::ClassFilter(const ClusterState& state, const Options& options) : options_(options) {
  for (const IngressClass& c : state.ingress_classes) {
    bool mine = c.meta.name == options.ingress_class && c.controller == kControllerName;
    // Names are unique in a cluster; a file source may still list one twice.
    if (c.meta.name == options.ingress_class && (ours_ == nullptr || mine)) ours_ = &c;
    if (c.is_default) (mine ? ours_is_default_ : other_is_default_) = true;
  }
}

bool ClassFilter::Selects(const Ingress& ingress, DiagnosticSink& diagnostics) const {
  if (ingress.ingress_class_name.has_value()) {
    if (*ingress.ingress_class_name != options_.ingress_class) return false;
    if (ours_ == nullptr) {
      diagnostics.Warn("Ingress", ingress.meta, "IngressClassNotFound",
                       portico::StrCat("IngressClass \"", options_.ingress_class,
                                       "\" does not exist; the Ingress is not served"));
      return false;
    }
    // The class of that name belongs to another controller: not ours, and
    // not our business to complain about.
    return ours_->controller == kControllerName;
  }
  auto legacy = ingress.meta.annotations.find(kLegacyClassAnnotation);
  if (legacy != ingress.meta.annotations.end() && !legacy->second.empty()) {
    return legacy->second == options_.ingress_class;
  }
  if (ours_is_default_) return true;
  if (other_is_default_) return false;
  return options_.watch_ingress_without_class;
}

}  // namespace portico::controller::translate
