#pragma once
// Lock-free metric primitives with one writer and any number of readers:
// each worker thread owns its instances and the admin thread sums them at
// scrape time. Plus helpers to write the Prometheus text format (0.0.4).

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace portico::metrics {

// Only the owning thread calls Inc; a load+store avoids a locked instruction.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Latency buckets in seconds, shared by every duration histogram.
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class Histogram {
 public:
  static constexpr size_t kBuckets = kLatencyBounds.size() + 1;  // last: +Inf

  void Observe(double seconds) {
    size_t i = 0;
    while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) ++i;
    Bump(buckets_[i], 1);
    Bump(count_, 1);
    double sum;
    uint64_t bits = sum_bits_.load(std::memory_order_relaxed);
    std::memcpy(&sum, &bits, sizeof(sum));
    sum += seconds;
    std::memcpy(&bits, &sum, sizeof(sum));
    sum_bits_.store(bits, std::memory_order_relaxed);
  }

  // Accumulates this histogram into the totals (non-cumulative buckets).
  void AddTo(std::array<uint64_t, kBuckets>& buckets, uint64_t& count, double& sum) const {
    for (size_t i = 0; i < kBuckets; ++i) buckets[i] += buckets_[i].load(std::memory_order_relaxed);
    count += count_.load(std::memory_order_relaxed);
    uint64_t bits = sum_bits_.load(std::memory_order_relaxed);
    double s;
    std::memcpy(&s, &bits, sizeof(s));
    sum += s;
  }

 private:
  static void Bump(std::atomic<uint64_t>& a, uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_bits_{0};
};

// Prometheus text format writer. Label values are escaped; names are ours.
class TextWriter {
 public:
  // Writes "# HELP" and "# TYPE" once per family.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // labels: already formatted pairs like {{"code","2xx"}}.
  void Sample(std::string_view name,
              std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  void HistogramSamples(std::string_view name,
                        const std::array<uint64_t, Histogram::kBuckets>& buckets, uint64_t count,
                        double sum);

  // The same with a label set built at run time (`buckets` non-cumulative).
  using Label = std::pair<std::string_view, std::string_view>;
  void LabelledSample(std::string_view name, std::span<const Label> labels, double value);
  void LabelledHistogram(std::string_view name, std::span<const Label> labels,
                         const std::array<uint64_t, Histogram::kBuckets>& buckets, uint64_t count,
                         double sum);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace portico::metrics
