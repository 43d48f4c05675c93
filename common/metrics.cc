#include "common/metrics.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace portico::metrics {
namespace {

void AppendNumber(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  // Integers print exactly; everything else with enough digits to round-trip.
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    snprintf(buf, sizeof(buf), "%.17g", v);
  }
  out += buf;
}

void AppendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

void TextWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void TextWriter::Sample(std::string_view name,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                        double value) {
  LabelledSample(name, std::span<const Label>(labels.begin(), labels.size()), value);
}

void TextWriter::LabelledSample(std::string_view name, std::span<const Label> labels,
                                double value) {
  out_.append(name);
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_.append(k).append("=\"");
      AppendEscaped(out_, v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  AppendNumber(out_, value);
  out_ += '\n';
}

void TextWriter::HistogramSamples(std::string_view name,
                                  const std::array<uint64_t, Histogram::kBuckets>& buckets,
                                  uint64_t count, double sum) {
  LabelledHistogram(name, {}, buckets, count, sum);
}

void TextWriter::LabelledHistogram(std::string_view name, std::span<const Label> labels,
                                   const std::array<uint64_t, Histogram::kBuckets>& buckets,
                                   uint64_t count, double sum) {
  std::vector<Label> with_le(labels.begin(), labels.end());
  with_le.emplace_back("le", "");
  std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    cumulative += buckets[i];
    std::string le;
    if (i < kLatencyBounds.size()) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%g", kLatencyBounds[i]);  // shortest form: le="0.0005"
      le = buf;
    } else {
      le = "+Inf";
    }
    with_le.back().second = le;
    LabelledSample(bucket_name, with_le, static_cast<double>(cumulative));
  }
  LabelledSample(std::string(name) + "_sum", labels, sum);
  LabelledSample(std::string(name) + "_count", labels, static_cast<double>(count));
}

}  // namespace portico::metrics
