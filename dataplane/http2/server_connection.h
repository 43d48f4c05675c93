#pragma once
// One downstream HTTP/2 connection (RFC 9113) on an nghttp2 server session,
// over TLS (ALPN h2) or cleartext (h2c with prior knowledge). Each stream is a
// ServerStream handing its request to the same RequestHandler the HTTP/1.1
// codec uses. Owned by a worker; every method runs on that worker's thread.
//
// Flow control follows the upstream: the connection window is returned as
// soon as bytes arrive, a stream's window only when its handler took the
// bytes, so a slow upstream holds back its own stream and no other.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/member_watchers.h"
#include "dataplane/event/object_slab.h"
#include "dataplane/event/transport.h"
#include "dataplane/http/server_connection.h"
#include "dataplane/http/stream.h"
#include "dataplane/http2/flood_guard.h"
#include "dataplane/http2/session_memory.h"

namespace portico::dataplane::http2 {

struct ServerSettings {
  uint32_t max_concurrent_streams = 100;
  uint32_t stream_window = 128 * 1024;       // request body bytes in flight per stream
  uint32_t connection_window = 1024 * 1024;  // and per connection
  // Header list size as RFC 9113 6.5.2 counts it: name + value + 32 per field.
  uint32_t max_header_bytes = 32768;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 0;  // 0: unlimited
  double header_timeout = 60;   // from accept to the first request
  double body_timeout = 60;     // a request body with no new byte for this long
  double idle_timeout = 75;     // no open stream
  double stall_timeout = 30;    // response data or output stuck on a closed window
  FloodLimits flood;
};

class ServerConnection;

class ConnectionOwner : public http::ConnectionOwner {
 public:
  // Current limits; read when the connection starts.
  virtual const ServerSettings& http2_settings() const = 0;
  // A guard tripped; the connection is going away with ENHANCE_YOUR_CALM.
  virtual void OnFlood(Flood kind) = 0;
  // A stream opened (+1) or closed (-1).
  virtual void OnStreamsChanged(int delta) = 0;
};

class ServerStream;

// An HTTP/1.1 request that asked for "Upgrade: h2c" (RFC 7540 3.2).
struct UpgradedRequest {
  std::string output;            // the 101 response, written before our SETTINGS
  http::RequestHead head;        // becomes stream 1
  std::string settings_payload;  // the decoded HTTP2-Settings header
};

class ServerConnection final : public http::ServerConnection {
 public:
  // One per connection, kept densely (dataplane/event/object_slab.h).
  PORTICO_SLAB_ALLOCATED(ServerConnection)

  // `input`: bytes already read off the transport (an h2c preface that the
  // HTTP/1.1 codec recognised).
  ServerConnection(event::EventLoop& loop, std::unique_ptr<event::Transport> transport,
                   http::ConnectionInfo info, ConnectionOwner& owner,
                   http::RequestHandlerFactory& factory, std::string input = {},
                   std::optional<UpgradedRequest> upgrade = std::nullopt);
  ~ServerConnection() override;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // http::ServerConnection
  void Start() override;
  // GOAWAY now; close once the streams in flight finished.
  void CloseWhenIdle() override;

  // For ServerStream.
  nghttp2_session* session() { return session_; }
  event::EventLoop& loop() { return loop_; }
  const http::ConnectionInfo& info() const { return info_; }
  const ServerSettings& settings() const { return settings_; }
  ConnectionOwner& owner() { return owner_; }
  http::RequestHandlerFactory& factory() { return factory_; }
  bool going_away() const { return going_away_; }
  // Output is pending in the session: write it before the loop blocks.
  void ScheduleFlush();

 private:
  friend struct SessionCallbacks;

  void OnIo(int revents);
  void OnReadable();
  // Hands `data` to the session; false when the connection is closing.
  bool Receive(const char* data, size_t size);
  void Flush();
  void UpdateInterest();
  void OnTick();
  void ArmTimer();
  void Trip(Flood kind);
  // Ends the connection after the pending output (GOAWAY) is written.
  void FinishAfterFlush();
  void Close();

  // nghttp2 callbacks' targets.
  int OnBeginFrame(const nghttp2_frame_hd& hd);
  int OnBeginHeaders(const nghttp2_frame& frame);
  int OnHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int OnFrameReceived(const nghttp2_frame& frame);
  int OnDataChunk(int32_t stream_id, const uint8_t* data, size_t len);
  int OnFrameSent(const nghttp2_frame& frame);
  int OnStreamClosed(int32_t stream_id, uint32_t error_code);
  ServerStream* FindStream(int32_t stream_id);
  // RFC 9113 5.1.1: a new stream's identifier must exceed every earlier one.
  bool IsReusedStreamId(const nghttp2_frame_hd& hd) const;

  event::EventLoop& loop_;
  std::unique_ptr<event::Transport> transport_;  // null once closed
  http::ConnectionInfo info_;
  ConnectionOwner& owner_;
  http::RequestHandlerFactory& factory_;
  ServerSettings settings_;
  FloodGuard flood_;
  // The bare libev watchers (member_watchers.h): 88 bytes less per connection.
  event::MemberIoWatcher<ServerConnection, &ServerConnection::OnIo> io_;
  event::MemberTimer<ServerConnection, &ServerConnection::OnTick> timer_;
  SessionMemory memory_;  // declared before session_: outlives nghttp2_session_del
  nghttp2_session* session_ = nullptr;
  absl::flat_hash_map<int32_t, std::unique_ptr<ServerStream>> streams_;
  int32_t max_client_stream_id_ = 0;
  // Streams that closed before the client finished its request: it may still
  // send their trailers (it had not seen our RST_STREAM), which is no error.
  // A vector, not a deque: libstdc++'s deque allocates ~600 bytes up front,
  // which every idle connection would carry.
  std::vector<int32_t> cut_short_;
  std::string initial_input_;
  // Only an h2c upgrade has one, until Start(): behind a pointer, as it is
  // 256 bytes that every other connection would carry while idle.
  std::unique_ptr<UpgradedRequest> upgrade_;
  event::Buffer out_;
  double idle_since_ = 0;           // last moment with no open stream
  double write_blocked_since_ = 0;  // output waiting on the socket since, or 0
  bool in_session_ = false;         // inside nghttp2_session_mem_recv (callbacks)
  bool flush_scheduled_ = false;
  bool going_away_ = false;  // GOAWAY submitted
  bool finishing_ = false;   // close once the output is written
  bool tripped_ = false;
  bool closed_ = false;
};

}  // namespace portico::dataplane::http2
