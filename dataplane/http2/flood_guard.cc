#include "dataplane/http2/flood_guard.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>

namespace portico::dataplane::http2 {

bool TokenBucket::Take(double now) {
  if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

const char* FloodName(Flood kind) {
  switch (kind) {
    case Flood::kRapidReset:
      return "rapid_reset";
    case Flood::kContinuation:
      return "continuation";
    case Flood::kSettings:
      return "settings";
    case Flood::kPing:
      return "ping";
    case Flood::kPriority:
      return "priority";
    case Flood::kEmptyData:
      return "empty_data";
    case Flood::kStalledWindow:
      return "stalled_window";
  }
  return "unknown";
}

FloodGuard::FloodGuard(const FloodLimits& limits)
    : max_continuations_(limits.max_continuations),
      resets_(limits.reset_rate, limits.reset_burst),
      settings_(limits.control_rate, limits.control_burst),
      pings_(limits.control_rate, limits.control_burst),
      priorities_(limits.priority_rate, limits.priority_burst),
      empty_data_(limits.empty_data_rate, limits.empty_data_burst) {}

bool FloodGuard::OnFrame(uint8_t type, uint8_t flags, size_t length, double now, Flood* tripped) {
  auto trip = [tripped](Flood kind) {
    *tripped = kind;
    return true;
  };
  switch (type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_PUSH_PROMISE:
      continuations_ = 0;
      return false;
    case NGHTTP2_CONTINUATION:
      if (++continuations_ > max_continuations_) return trip(Flood::kContinuation);
      return false;
    case NGHTTP2_RST_STREAM:
      return resets_.Take(now) ? false : trip(Flood::kRapidReset);
    case NGHTTP2_SETTINGS:
      return settings_.Take(now) ? false : trip(Flood::kSettings);
    case NGHTTP2_PING:
      return pings_.Take(now) ? false : trip(Flood::kPing);
    case NGHTTP2_PRIORITY:
      return priorities_.Take(now) ? false : trip(Flood::kPriority);
    case NGHTTP2_DATA:
      if (length != 0 || (flags & NGHTTP2_FLAG_END_STREAM) != 0) return false;
      return empty_data_.Take(now) ? false : trip(Flood::kEmptyData);
    default:
      return false;
  }
}

}  // namespace portico::dataplane::http2
