#include "dataplane/proxy/tunnel.h"

#include <errno.h>

namespace portico::dataplane::proxy {
namespace {

constexpr size_t kReadSize = 65536;
// A side stops being read while the other side has this much queued, and
// starts again below the low mark: at most ~256 KiB in flight per direction.
constexpr size_t kHighWatermark = 256 * 1024;
constexpr size_t kLowWatermark = 64 * 1024;

char* ReadScratch() {
  thread_local char scratch[kReadSize];
  return scratch;
}

}  // namespace

Tunnel::Tunnel(event::EventLoop& loop, http::ConnectionOwner& owner,
               std::unique_ptr<event::Transport> downstream, std::string downstream_output,
               std::string downstream_input, http::UpgradedUpstream upstream)
    : loop_(loop),
      owner_(owner),
      idle_timeout_(upstream.idle_timeout),
      idle_(loop, [this] { Close(); }) {
  down_.transport = std::move(downstream);
  up_.transport = std::move(upstream.transport);
  down_.out.Append(downstream_output);
  down_.out.Append(upstream.input);
  up_.out.Append(downstream_input);
  down_.io = std::make_unique<event::IoWatcher>(loop_, down_.transport->fd(),
                                                [this](int revents) { OnIo(down_, revents); });
  up_.io = std::make_unique<event::IoWatcher>(loop_, up_.transport->fd(),
                                              [this](int revents) { OnIo(up_, revents); });
}

Tunnel::~Tunnel() = default;

void Tunnel::Start() {
  idle_.Start(idle_timeout_);
  Flush(down_);
  if (closed_) return;
  Flush(up_);
  if (closed_) return;
  // A TLS client may already have records decrypted behind its request.
  if (down_.transport->HasBufferedInput()) Read(down_);
}

void Tunnel::OnIo(Side& side, int revents) {
  if (revents & EV_WRITE) Flush(side);
  if (closed_) return;
  if ((revents & EV_READ) || ((revents & EV_WRITE) && side.transport->ReadWantsWrite())) {
    Read(side);
  }
}

void Tunnel::Read(Side& side) {
  Side& other = Other(side);
  bool moved = false;
  while (!side.read_eof && !side.paused) {
    ssize_t n = side.transport->Read(ReadScratch(), kReadSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      Close();
      return;
    }
    if (n == 0) {
      side.read_eof = true;
      break;
    }
    other.out.Append(ReadScratch(), static_cast<size_t>(n));
    moved = true;
    if (other.out.size() >= kHighWatermark) side.paused = true;
  }
  if (moved) idle_.Start(idle_timeout_);
  Flush(other);
  if (closed_) return;
  UpdateInterest(side);
  MaybeFinish();
}

void Tunnel::Flush(Side& side) {
  if (closed_) return;
  Side& other = Other(side);
  const size_t pending = side.out.size();
  if (!event::WriteBuffered(*side.transport, side.out)) {
    Close();
    return;
  }
  if (side.out.size() < pending) idle_.Start(idle_timeout_);
  if (side.out.empty()) {
    side.out.ShrinkIfIdle();
    // The other side finished and everything it sent is delivered: pass the
    // half-close on.
    if (other.read_eof && !side.write_shut) {
      side.write_shut = true;
      side.transport->ShutdownWrite();
    }
  }
  UpdateInterest(side);
  if (other.paused && side.out.size() < kLowWatermark) {
    other.paused = false;
    UpdateInterest(other);
    // TLS input already decrypted is not announced by the socket again.
    if (other.transport->HasBufferedInput()) {
      loop_.RunBeforeBlocking([this, &other] {
        if (!closed_) Read(other);
      });
    }
  }
  MaybeFinish();
}

void Tunnel::UpdateInterest(Side& side) {
  if (closed_) return;
  bool read = !side.read_eof && !side.paused;
  bool write = !side.out.empty() || (read && side.transport->ReadWantsWrite());
  side.io->Watch((read ? EV_READ : 0) | (write ? EV_WRITE : 0));
}

void Tunnel::MaybeFinish() {
  if (closed_) return;
  if (down_.read_eof && up_.read_eof && down_.out.empty() && up_.out.empty()) Close();
}

void Tunnel::Close() {
  if (closed_) return;
  closed_ = true;
  idle_.Stop();
  down_.io.reset();
  up_.io.reset();
  down_.transport.reset();  // closes the sockets
  up_.transport.reset();
  owner_.OnConnectionClosed(this);
}

}  // namespace portico::dataplane::proxy
