#pragma once
// One upstream HTTP/2 connection (h2c with prior knowledge, or h2 over the
// TLS transport the pool wraps the socket in) on an nghttp2 client session, multiplexing the
// exchanges of many requests: each is a ClientStream, the same http::ClientStream the HTTP/1.1
// upstream codec offers, so the request handling does not care which one it got. Responses carry
// trailers (gRPC). Owned by a connection pool on one worker.

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/transport.h"
#include "dataplane/event/upstream_connect.h"
#include "dataplane/http/client_stream.h"
#include "dataplane/http1/client_connection.h"

namespace portico::dataplane::http2 {

class ClientConnection;
class ClientStream;

class ClientConnectionOwner {
 public:
  virtual ~ClientConnectionOwner() = default;
  // The socket is closed; the owner schedules deletion.
  virtual void OnClosed(ClientConnection* connection) = 0;
  // The connect (TCP, then the transport's handshake) finished after
  // `seconds` (not called when it failed).
  virtual void OnConnected(ClientConnection* connection, double seconds) = 0;
};

class ClientConnection final : public event::Deferrable {
 public:
  ClientConnection(event::EventLoop& loop, ClientConnectionOwner& owner, std::string pool_key,
                   http1::ClientSettings settings);
  ~ClientConnection() override;
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Starts the non-blocking connect; failures go to every stream. `wrap` (may
  // be empty: h2c) makes the connected socket's transport; its handshake is
  // part of the connect (and its timeout).
  void Connect(const sockaddr* addr, socklen_t len, const event::TransportFactory& wrap = {});
  // A new exchange for `handler`. Once connected() it may send at once;
  // before, the handler hears OnUpstreamReady.
  ClientStream* NewStream(http::ClientStreamHandler* handler, http1::ClientSettings settings);
  // Can take another stream (not going away, below the peer's stream limit).
  bool HasCapacity() const;
  size_t streams() const { return streams_.size(); }
  bool connected() const { return connected_; }
  // "https" over TLS, else "http": the :scheme of requests.
  const char* scheme() const { return transport_ && transport_->secure() ? "https" : "http"; }
  bool used() const { return streams_opened_ > 1; }
  // Closes the connection; streams still open fail with kReset.
  void Close();
  // Close once the last stream finished (its endpoint left the config).
  void CloseWhenIdle();
  const std::string& pool_key() const { return pool_key_; }

  // For ClientStream.
  nghttp2_session* session() { return session_; }
  event::EventLoop& loop() { return loop_; }
  void ScheduleFlush();
  void ForgetStream(ClientStream* stream);
  void RegisterStream(int32_t id, ClientStream* stream) { by_id_.emplace(id, stream); }

 private:
  friend struct ClientSessionCallbacks;

  void OnIo(int revents);
  void OnEstablished();
  void OnReadable();
  void Flush();
  void UpdateInterest();
  void ArmIdleTimer();
  void OnTimer();
  void FailAll(http::UpstreamFailure failure);

  int OnHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int OnFrameReceived(const nghttp2_frame& frame);
  int OnDataChunk(int32_t stream_id, const uint8_t* data, size_t len);
  int OnStreamClosed(int32_t stream_id, uint32_t error_code);
  ClientStream* Find(int32_t stream_id);

  event::EventLoop& loop_;
  ClientConnectionOwner& owner_;
  const std::string pool_key_;
  http1::ClientSettings settings_;
  std::unique_ptr<event::Transport> transport_;
  event::UpstreamConnect connect_;
  std::unique_ptr<event::IoWatcher> io_;
  event::Timer timer_;  // connect timeout, then idle timeout
  nghttp2_session* session_ = nullptr;
  // Every stream of this connection; those with a stream id also in by_id_.
  std::vector<std::unique_ptr<ClientStream>> streams_;
  absl::flat_hash_map<int32_t, ClientStream*> by_id_;
  event::Buffer out_;
  uint64_t streams_opened_ = 0;
  bool connected_ = false;
  bool in_session_ = false;
  bool flush_scheduled_ = false;
  bool close_when_idle_ = false;
  bool closed_ = false;
};

class ClientStream final : public http::ClientStream, public event::Deferrable {
 public:
  ClientStream(ClientConnection& connection, http::ClientStreamHandler* handler,
               http1::ClientSettings settings, bool reused);
  ~ClientStream() override;

  // http::ClientStream
  bool connected() const override { return conn_.connected(); }
  bool reused() const override { return reused_; }
  void SendRequest(const http::RequestHead& head, bool end_stream) override;
  void SendBody(std::string_view data, bool end_stream) override;
  bool RequestBlocked() const override;
  void PauseResponse() override;
  void ResumeResponse() override;
  void Cancel() override;

  // From the connection.
  int32_t id() const { return id_; }
  bool finished() const { return handler_ == nullptr; }
  void OnConnected();
  void OnHeader(bool trailers, std::string_view name, std::string_view value);
  void OnHeadersDone(bool trailers, bool end_stream);
  void OnData(const char* data, size_t len);
  void OnEndStream();
  void OnClosed(uint32_t error_code);
  // Gone from the connection once neither nghttp2 nor a handler needs it.
  void MaybeForget();
  void Fail(http::UpstreamFailure failure);
  ssize_t ReadRequest(uint8_t* buf, size_t length, uint32_t* data_flags);
  void MaybeNotifyDrained();

 private:
  void Deliver(std::string_view data);
  void OnTimeout();
  // proxy-send-timeout, as for HTTP/1.1: runs while request body bytes wait
  // for the backend (its flow-control window or the socket), restarted by
  // every byte nghttp2 takes; `progressed`: some were taken just now.
  void UpdateSendTimer(bool progressed);
  void OnSendTimeout();

  ClientConnection& conn_;
  http::ClientStreamHandler* handler_;  // null once the exchange is over for it
  http1::ClientSettings settings_;
  const bool reused_;
  event::Timer timer_;  // response timeout: to the first byte, then between reads
  event::Timer send_timer_;
  int32_t id_ = -1;
  bool stream_closed_ = false;
  bool head_request_ = false;
  // Request body.
  event::Buffer out_;
  bool request_end_ = false;
  bool data_deferred_ = false;
  bool request_blocked_ = false;
  // Response.
  http::ResponseHead head_;
  http::HeaderMap trailers_;
  bool response_started_ = false;
  bool paused_ = false;
  event::Buffer paused_data_;
  bool paused_end_ = false;
  bool paused_trailers_ = false;  // the end is trailers_, after paused_data_
};

}  // namespace portico::dataplane::http2
