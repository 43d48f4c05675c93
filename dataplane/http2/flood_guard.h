#pragma once
// Per-connection limits on the HTTP/2 frames a client can send cheaply and
// make the server work for. nghttp2 1.52 predates its own rapid-reset limit
// (CVE-2023-44487) and its CONTINUATION limit (CVE-2024-27316), so these
// guards run in front of it, from the frame headers alone. A tripped guard
// ends the connection with GOAWAY ENHANCE_YOUR_CALM.
//
// Threading: one per connection, on its worker's thread. Pure; time is passed in.

#include <cstddef>
#include <cstdint>

namespace portico::dataplane::http2 {

// Tokens refill at `rate` per second up to `burst`; each event takes one.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // False when the bucket is empty (the event is over the limit).
  bool Take(double now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  double last_ = -1;
};

enum class Flood : uint8_t {
  kRapidReset,     // RST_STREAM frames from the client
  kContinuation,   // CONTINUATION frames in one header block
  kSettings,       // SETTINGS frames
  kPing,           // PING frames
  kPriority,       // PRIORITY frames
  kEmptyData,      // DATA frames with no payload and no END_STREAM
  kStalledWindow,  // response data stuck behind a window the client never opens
};
inline constexpr size_t kFloodKinds = 7;
const char* FloodName(Flood kind);

struct FloodLimits {
  // nghttp2 1.57's own defaults for stream resets.
  double reset_rate = 33;
  double reset_burst = 1000;
  // A header block is HEADERS + CONTINUATION*; 32 KiB of headers in 16 KiB
  // frames needs two, so eight is generous.
  uint32_t max_continuations = 8;
  double control_rate = 10;  // SETTINGS and PING each, per second
  double control_burst = 100;
  double priority_rate = 100;
  double priority_burst = 1000;
  double empty_data_rate = 10;
  double empty_data_burst = 100;
};

class FloodGuard {
 public:
  explicit FloodGuard(const FloodLimits& limits);

  // The header of each received frame, before nghttp2 sees its payload.
  // Returns true and sets `tripped` when the frame is over a limit.
  bool OnFrame(uint8_t type, uint8_t flags, size_t length, double now, Flood* tripped);

 private:
  uint32_t max_continuations_;
  uint32_t continuations_ = 0;
  TokenBucket resets_;
  TokenBucket settings_;
  TokenBucket pings_;
  TokenBucket priorities_;
  TokenBucket empty_data_;
};

}  // namespace portico::dataplane::http2
