#include "hyper/utp/socket_factory.h"

#include <arpa/inet.h>

#include <algorithm>
#include <asio/error.hpp>
#include <utility>

namespace hyper::utp {
namespace {

// One uTP connection seen as a stream: what arrived and is not read yet, the reader and the
// writer waiting. Shared by the Socket and (weakly) the connection's callbacks.
struct Stream : std::enable_shared_from_this<Stream> {
  explicit Stream(runtime::EventLoop& l) : loop(l) {}

  runtime::EventLoop& loop;
  std::shared_ptr<Connection> connection;
  std::string remote_host;
  std::string remote;
  Bytes inbox;
  size_t inbox_offset = 0;
  bool eof = false;    // the peer's FIN: after the inbox, reads end
  bool ended = false;  // the connection closed; `end_status` says how
  Status end_status;
  bool closed = false;  // our Close
  MutableByteView read_buf;
  runtime::Socket::Completion reader;
  ByteView write_data;
  size_t write_offset = 0;
  runtime::Socket::Completion writer;

  size_t unread() const { return inbox.size() - inbox_offset; }

  void Complete(runtime::Socket::Completion done, std::error_code ec, size_t n) {
    loop.Post([done = std::move(done), ec, n] { done(ec, n); });
  }

  void Deliver() {
    if (!reader) return;
    if (unread() > 0) {
      const size_t n = std::min(read_buf.size(), unread());
      std::copy_n(inbox.begin() + static_cast<ptrdiff_t>(inbox_offset), n, read_buf.begin());
      inbox_offset += n;
      if (inbox_offset == inbox.size()) {
        inbox.clear();
        inbox_offset = 0;
      } else if (inbox_offset >= inbox.size() / 2) {
        inbox.erase(inbox.begin(), inbox.begin() + static_cast<ptrdiff_t>(inbox_offset));
        inbox_offset = 0;
      }
      if (connection) connection->SetUnreadBytes(unread());
      Complete(std::exchange(reader, nullptr), {}, n);
    } else if (eof || (ended && end_status.ok())) {
      Complete(std::exchange(reader, nullptr), asio::error::eof, 0);
    } else if (ended) {
      Complete(std::exchange(reader, nullptr),
               end_status.code() == Code::kTimeout ? asio::error::timed_out
                                                   : asio::error::connection_reset,
               0);
    }
  }

  void PumpWrite() {
    if (!writer || !connection) return;
    while (write_offset < write_data.size()) {
      const size_t n = connection->Write(write_data.subspan(write_offset));
      if (n == 0) break;
      write_offset += n;
    }
    if (write_offset == write_data.size()) {
      Complete(std::exchange(writer, nullptr), {}, write_data.size());
      write_data = {};
      write_offset = 0;
    }
  }

  void OnData(ByteView data) {
    if (closed) return;
    inbox.insert(inbox.end(), data.begin(), data.end());
    connection->SetUnreadBytes(unread());
    Deliver();
  }

  void OnClose(const Status& status) {
    ended = true;
    end_status = status;
    Deliver();
    if (writer) Complete(std::exchange(writer, nullptr), asio::error::broken_pipe, 0);
  }

  // Callbacks that reach this stream while it lives.
  ConnectionCallbacks Callbacks(std::function<void()> on_connect) {
    std::weak_ptr<Stream> weak = weak_from_this();
    ConnectionCallbacks c;
    c.on_connect = std::move(on_connect);
    c.on_data = [weak](ByteView d) {
      if (auto s = weak.lock()) s->OnData(d);
    };
    c.on_end = [weak] {
      if (auto s = weak.lock()) {
        s->eof = true;
        s->Deliver();
      }
    };
    c.on_writable = [weak] {
      if (auto s = weak.lock()) s->PumpWrite();
    };
    return c;
  }
};

class UtpSocket : public runtime::Socket {
 public:
  explicit UtpSocket(std::shared_ptr<Stream> stream) : stream_(std::move(stream)) {}
  ~UtpSocket() override { Close(); }
  UtpSocket(const UtpSocket&) = delete;
  UtpSocket& operator=(const UtpSocket&) = delete;

  void ReadSome(MutableByteView buf, Completion done) override {
    Stream& s = *stream_;
    if (s.closed) {
      s.Complete(std::move(done), asio::error::operation_aborted, 0);
      return;
    }
    s.read_buf = buf;
    s.reader = std::move(done);
    s.Deliver();
  }

  void Write(ByteView data, Completion done) override {
    Stream& s = *stream_;
    if (s.closed || s.ended || s.writer) {
      s.Complete(std::move(done), asio::error::broken_pipe, 0);
      return;
    }
    s.write_data = data;
    s.write_offset = 0;
    s.writer = std::move(done);
    s.PumpWrite();
  }

  void Close() override {
    Stream& s = *stream_;
    if (s.closed) return;
    s.closed = true;
    if (s.reader) s.Complete(std::exchange(s.reader, nullptr), asio::error::operation_aborted, 0);
    if (s.writer) s.Complete(std::exchange(s.writer, nullptr), asio::error::operation_aborted, 0);
    s.inbox = Bytes();
    s.inbox_offset = 0;
    // A FIN after what the connection holds; the Multiplexer keeps it until both ends finished.
    if (s.connection) s.connection->Close();
  }

  std::string remote_address() const override { return stream_->remote_host; }
  std::string remote_endpoint() const override { return stream_->remote; }
  bool over_datagrams() const override { return true; }

 private:
  std::shared_ptr<Stream> stream_;
};

class UtpListener : public runtime::Listener {
 public:
  UtpListener(std::weak_ptr<UtpSocketFactory::State> state, uint16_t port)
      : state_(std::move(state)), port_(port) {}
  ~UtpListener() override { Close(); }
  UtpListener(const UtpListener&) = delete;
  UtpListener& operator=(const UtpListener&) = delete;
  uint16_t port() const override { return port_; }
  void Close() override;

 private:
  std::weak_ptr<UtpSocketFactory::State> state_;
  uint16_t port_;
};

bool IsIpv4(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

}  // namespace

struct UtpSocketFactory::State {
  State(runtime::EventLoop& l, Multiplexer& m, uint16_t p) : loop(l), mux(m), port(p) {}
  runtime::EventLoop& loop;
  Multiplexer& mux;
  uint16_t port;
  bool listening = false;
};

void UtpListener::Close() {
  auto state = state_.lock();
  if (!state || !state->listening) return;
  state->listening = false;
  state->mux.set_accept(nullptr);
}

UtpSocketFactory::UtpSocketFactory(runtime::EventLoop& loop, Multiplexer& mux, uint16_t port)
    : state_(std::make_shared<State>(loop, mux, port)) {}

UtpSocketFactory::~UtpSocketFactory() {
  if (state_->listening) state_->mux.set_accept(nullptr);
}

std::function<void()> UtpSocketFactory::Connect(const std::string& host, uint16_t port,
                                                Connected done) {
  HYPER_ASSERT_ON_LOOP(state_->loop);
  runtime::EventLoop& loop = state_->loop;
  const std::string where = host + ":" + std::to_string(port);
  if (!IsIpv4(host)) {
    loop.Post([done = std::move(done), where] {
      done(Status::IOError("utp: connecting to " + where + ": not an IPv4 address"));
    });
    return [] {};
  }
  // Until `done` is called (connected, failed, or given up) the dial holds the stream; then
  // the socket does (the connection's callbacks hold it weakly).
  struct Dial {
    Connected done;
    std::shared_ptr<Stream> stream;
    void Finish(runtime::EventLoop* loop, Result<std::unique_ptr<runtime::Socket>> r) {
      if (!done) return;
      stream.reset();
      // std::function needs a copyable callable: the result travels in a shared_ptr.
      auto result = std::make_shared<Result<std::unique_ptr<runtime::Socket>>>(std::move(r));
      loop->Post([done = std::exchange(done, nullptr), result] { done(std::move(*result)); });
    }
  };
  auto dial = std::make_shared<Dial>();
  dial->done = std::move(done);
  dial->stream = std::make_shared<Stream>(loop);
  dial->stream->remote_host = host;
  dial->stream->remote = where;
  runtime::EventLoop* lp = &loop;
  ConnectionCallbacks callbacks = dial->stream->Callbacks([dial, lp] {
    if (auto s = dial->stream) dial->Finish(lp, std::unique_ptr<runtime::Socket>(new UtpSocket(s)));
  });
  std::weak_ptr<Stream> weak = dial->stream;
  callbacks.on_close = [weak, dial, lp, where](const Status& status) {
    dial->Finish(lp, Status::IOError("utp: connecting to " + where + ": " + status.ToString()));
    if (auto s = weak.lock()) s->OnClose(status);
  };
  auto connection = state_->mux.Connect({host, port}, std::move(callbacks));
  if (!connection.ok()) {
    dial->Finish(lp, connection.status());
    return [] {};
  }
  dial->stream->connection = *connection;
  std::weak_ptr<Connection> weak_connection = *connection;
  return [dial, weak_connection, lp] {
    if (!dial->done) return;
    dial->Finish(lp, Status::Cancelled("utp: connect given up"));
    if (auto c = weak_connection.lock()) c->Close();
  };
}

Result<std::unique_ptr<runtime::Listener>> UtpSocketFactory::Listen(const std::string& host,
                                                                    uint16_t port,
                                                                    Accepted accepted) {
  HYPER_ASSERT_ON_LOOP(state_->loop);
  (void)host;  // the Multiplexer's socket is bound already
  if (port != 0 && port != state_->port) {
    return Status::InvalidArgument("utp: listening on port " + std::to_string(port) +
                                   ", but the socket is bound on " + std::to_string(state_->port));
  }
  if (state_->listening) return Status::Busy("utp: a listener is open already");
  state_->listening = true;
  runtime::EventLoop* lp = &state_->loop;
  state_->mux.set_accept(
      [lp, accepted = std::move(accepted)](const std::shared_ptr<Connection>& connection,
                                           const runtime::UdpEndpoint& from) {
        auto stream = std::make_shared<Stream>(*lp);
        stream->remote_host = from.host;
        stream->remote = from.ToString();
        stream->connection = connection;
        std::weak_ptr<Stream> weak = stream;
        ConnectionCallbacks callbacks = stream->Callbacks(nullptr);
        callbacks.on_close = [weak](const Status& status) {
          if (auto s = weak.lock()) s->OnClose(status);
        };
        connection->set_callbacks(std::move(callbacks));
        auto socket = std::make_shared<std::unique_ptr<runtime::Socket>>(new UtpSocket(stream));
        lp->Post([accepted, socket] { accepted(std::move(*socket)); });
      });
  return std::unique_ptr<runtime::Listener>(new UtpListener(state_, state_->port));
}

}  // namespace hyper::utp
