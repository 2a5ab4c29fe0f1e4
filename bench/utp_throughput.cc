// utp_throughput [--mib N] [--timeout S] [--no-node]: one-way bulk transfer on loopback, side by
// side with the Node reference (bench/node/utp_throughput.js), same run. Prints MB/s for ours over
// uTP (UtpSocketFactory on a Multiplexer over real UDP), ours over TCP (TcpSocketFactory), Node's
// utp-native to utp-native, the ratio ours-uTP / Node-uTP, and for each the stalls: whole seconds
// (sampled once a second) in which the receiver got nothing. bench/utp_loss.sh runs it inside a
// network namespace that drops a share of UDP packets. A benchmark, not a test.
#include <asio/error.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/side_by_side.h"
#include "hyper/runtime/asio_udp_socket_factory.h"
#include "hyper/runtime/clock.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/tcp_socket_factory.h"
#include "hyper/utp/multiplexer.h"
#include "hyper/utp/socket_factory.h"

namespace {

using hyper::runtime::EventLoop;
using hyper::runtime::Socket;
using hyper::runtime::SocketFactory;

constexpr size_t kChunk = 64 * 1024;

struct Figure {
  double mb_per_s = 0;
  int stalls = 0;
  bool ok = false;
  std::string error;
};

// One transfer of `total` bytes from a connecting socket to a listening one of `f`, all on `loop`.
class Transfer : public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(SocketFactory& f, size_t total)
      : f_(f), total_(total), out_(kChunk, 0x5a), in_(kChunk) {}

  // On the loop.
  void Start(const std::string& host) {
    auto self = shared_from_this();
    auto listener = f_.Listen(host, 0, [self](std::unique_ptr<Socket> s) {
      self->receiver_ = std::move(s);
      self->Read();
    });
    if (!listener.ok()) return Finish("listen: " + listener.status().ToString());
    listener_ = std::move(*listener);
    f_.Connect(host, listener_->port(), [self](hyper::Result<std::unique_ptr<Socket>> s) {
      if (!s.ok()) return self->Finish("connect: " + s.status().ToString());
      self->sender_ = std::move(*s);
      self->Write();
    });
  }

  std::atomic<size_t> received{0};
  std::promise<std::string> done;  // empty: every byte arrived

  // On the loop: drops the sockets.
  void Stop() {
    if (sender_) sender_->Close();
    if (receiver_) receiver_->Close();
    if (listener_) listener_->Close();
    sender_.reset();
    receiver_.reset();
    listener_.reset();
  }

 private:
  void Write() {
    if (sent_ >= total_) return sender_->Close();  // FIN after what it holds
    size_t n = std::min(kChunk, total_ - sent_);
    sent_ += n;
    auto self = shared_from_this();
    sender_->Write(hyper::ByteView(out_.data(), n), [self](std::error_code ec, size_t) {
      if (ec) return self->Finish("write: " + ec.message());
      self->Write();
    });
  }

  void Read() {
    auto self = shared_from_this();
    receiver_->ReadSome(
        hyper::MutableByteView(in_.data(), in_.size()), [self](std::error_code ec, size_t n) {
          self->received += n;
          if (ec == asio::error::eof) {
            size_t got = self->received;
            return self->Finish(got == self->total_ ? ""
                                                    : "received " + std::to_string(got) + " of " +
                                                          std::to_string(self->total_));
          }
          if (ec) return self->Finish("read: " + ec.message());
          self->Read();
        });
  }

  void Finish(const std::string& error) {
    if (finished_) return;
    finished_ = true;
    done.set_value(error);
  }

  SocketFactory& f_;
  size_t total_;
  size_t sent_ = 0;
  bool finished_ = false;
  std::vector<uint8_t> out_, in_;
  std::unique_ptr<hyper::runtime::Listener> listener_;
  std::unique_ptr<Socket> sender_, receiver_;
};

// Runs one transfer and watches it from this thread, once a second, for stalls.
Figure Measure(EventLoop& loop, SocketFactory& f, const std::string& host, size_t total,
               int timeout_s) {
  auto t = std::make_shared<Transfer>(f, total);
  auto result = t->done.get_future();
  auto t0 = hyper::bench::Clock::now();
  loop.Post([t, host] { t->Start(host); });
  Figure fig;
  size_t last = 0;
  for (int waited = 0;; waited++) {
    if (result.wait_for(std::chrono::seconds(1)) == std::future_status::ready) break;
    size_t now = t->received;
    if (now == last) fig.stalls++;
    last = now;
    if (waited + 1 >= timeout_s) {
      fig.error = "timed out after " + std::to_string(timeout_s) + " s with " +
                  std::to_string(now) + " of " + std::to_string(total) + " bytes";
      loop.Call([&] { t->Stop(); });
      return fig;
    }
  }
  double s = hyper::bench::Seconds(t0);
  fig.error = result.get();
  fig.ok = fig.error.empty();
  fig.mb_per_s = total / 1e6 / s;
  loop.Call([&] { t->Stop(); });
  return fig;
}

// Ours over uTP: a Multiplexer on a real UDP socket, as the DHT shares its socket.
Figure MeasureUtp(EventLoop& loop, size_t total, int timeout_s) {
  hyper::runtime::RealClock clock(loop);
  hyper::runtime::AsioUdpSocketFactory udp(loop);
  std::unique_ptr<hyper::runtime::UdpSocket> sock;
  std::unique_ptr<hyper::utp::Multiplexer> mux;
  std::unique_ptr<hyper::utp::UtpSocketFactory> utp;
  std::string error = loop.Call([&]() -> std::string {
    mux = std::make_unique<hyper::utp::Multiplexer>(
        clock, [&sock](const hyper::runtime::UdpEndpoint& to, hyper::ByteView d) {
          if (sock) sock->Send(to, d);
        });
    auto bound = udp.Bind("127.0.0.1", 0,
                          [&mux](const hyper::runtime::UdpEndpoint& from, hyper::ByteView d) {
                            if (mux) mux->OnDatagram(from, d);
                          });
    if (!bound.ok()) return bound.status().ToString();
    sock = std::move(*bound);
    utp = std::make_unique<hyper::utp::UtpSocketFactory>(loop, *mux, sock->local().port);
    return "";
  });
  Figure fig;
  if (error.empty()) {
    fig = Measure(loop, *utp, "127.0.0.1", total, timeout_s);
  } else {
    fig.error = "bind: " + error;
  }
  loop.Call([&] {
    utp.reset();
    mux.reset();
    if (sock) sock->Close();
    sock.reset();
  });
  return fig;
}

Figure MeasureTcp(EventLoop& loop, size_t total, int timeout_s) {
  hyper::runtime::TcpSocketFactory tcp(loop);
  return Measure(loop, tcp, "127.0.0.1", total, timeout_s);
}

void Print(const char* name, const Figure& f) {
  if (f.ok) {
    std::printf("%-26s %10.1f MB/s  %3d stalls\n", name, f.mb_per_s, f.stalls);
  } else {
    std::printf("%-26s     failed        %3d stalls  (%s)\n", name, f.stalls, f.error.c_str());
  }
}

int Usage(const char* why) {
  if (why) std::cerr << "utp_throughput: " << why << "\n";
  std::cerr << "usage: utp_throughput [--mib N] [--timeout SECONDS] [--no-node]\n"
               "  One-way transfer of N MiB (default 64) on loopback: ours over uTP, ours over\n"
               "  TCP, Node utp-native to utp-native; MB/s, stalls (seconds without progress)\n"
               "  and the ratio ours-uTP / Node-uTP. Each transfer gives up after SECONDS\n"
               "  (default 300). bench/utp_loss.sh runs it with packets lost.\n";
  return why ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  long mib = 64;
  long timeout_s = 300;
  bool node = true;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto number = [&](long& out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      out = std::strtol(argv[++i], &end, 10);
      return *end == '\0' && out > 0 && out <= 1 << 20;
    };
    if (a == "--help" || a == "-h") return Usage(nullptr);
    if (a == "--mib") {
      if (!number(mib)) return Usage("--mib needs a positive whole number");
    } else if (a == "--timeout") {
      if (!number(timeout_s)) return Usage("--timeout needs a positive whole number");
    } else if (a == "--no-node") {
      node = false;
    } else {
      return Usage(("unknown argument " + a).c_str());
    }
  }
  size_t total = static_cast<size_t>(mib) << 20;
  EventLoop loop("utp-bench");
  loop.Start();
  std::printf("one-way transfer of %ld MiB on loopback (%s)\n", mib,
              hyper::bench::Machine().c_str());
  Figure utp = MeasureUtp(loop, total, static_cast<int>(timeout_s));
  Print("ours uTP", utp);
  Figure tcp = MeasureTcp(loop, total, static_cast<int>(timeout_s));
  Print("ours TCP", tcp);
  loop.Stop();
  bool ok = utp.ok && tcp.ok;
  if (node) {
    nlohmann::json n = hyper::bench::RunNodeTwin(
        "utp_throughput.js", {{"bytes", total}, {"lifetime_ms", timeout_s * 1000}});
    Figure ref;
    ref.ok = true;
    ref.mb_per_s = n["utp"]["value"];
    ref.stalls = n["utp"]["stalls"];
    Print("node utp-native", ref);
    if (utp.ok)
      std::printf("%-26s %10.2f\n", "ratio ours-uTP / node-uTP", utp.mb_per_s / ref.mb_per_s);
  }
  return ok ? 0 : 1;
}
