#pragma once
// Decides which Ingresses this controller serves (IngressClass selection).

#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/translator.h"

namespace portico::controller::translate {

inline constexpr char kLegacyClassAnnotation[] = "kubernetes.io/ingress.class";

// Built once per translation from the IngressClasses in the cluster.
//
// "Our class" is the IngressClass named options.ingress_class whose
// spec.controller is kControllerName. An Ingress is ours when:
//   1. spec.ingressClassName names our class; the IngressClass object must
//      exist and be ours, as in ingress-nginx (a name alone is not enough: the
//      class could belong to another controller);
//   2. else the legacy annotation kubernetes.io/ingress.class equals
//      options.ingress_class (no IngressClass object needed, as before v1);
//   3. else (no class at all) our class is marked default;
//   4. else no IngressClass at all is marked default and
//      options.watch_ingress_without_class is set.
// Ingresses of other classes are skipped silently: they belong to someone else.
class ClassFilter {
 public:
  ClassFilter(const ClusterState& state, const Options& options);

  // Diagnoses an Ingress that names our class when that class is missing or
  // belongs to another controller, so the user learns why nothing happens.
  bool Selects(const Ingress& ingress, DiagnosticSink& diagnostics) const;

 private:
  const Options& options_;
  const IngressClass* ours_ = nullptr;  // named options.ingress_class, any controller
  bool ours_is_default_ = false;
  bool other_is_default_ = false;
};

}  // namespace portico::controller::translate
