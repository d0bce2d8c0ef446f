// WebSocket fan-out benchmark: N desktops subscribed to one tenant's event stream
// (/api/v1/events) must each receive every queue-statistics update. Against a running server
// (bench/ws/run.sh starts one): logs in, opens the connections, waits for every hello and first
// "queues" frame, then K times puts a task into a queue over the REST API and measures, for
// every connection, the time from just before the POST is written to the receipt of the first
// "queues" frame showing the new waiting count. The server sends that frame once the creating
// event is durable, so the figure includes the commit (fsync), the one rendering of the frame
// and its fan-out to every peer.
//
// Plain POSIX sockets and epoll, one thread, a minimal RFC 6455 client (unmasked server frames,
// fragments, pings answered, masked client frames): no Beast/Asio, so it builds in seconds.
// The client shares the machine with the server: its own work (one recv and a scan of the
// frame per connection) is part of the measured latency, and grows with --clients.
//
// Usage: bench_ws --port P [--host 127.0.0.1] [--clients 2000] [--updates 50] [--user sam]
//          [--password demo] [--tenant acme] [--queue billing] [--timeout-ms 10000]

#include "ws_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace bench;  // bench/common/ws_client.h: the HTTP and WebSocket client, the JSON walker

struct Options : bench::Endpoint {
  std::string user = "sam";
  std::string password = "demo";
  std::string tenant = "acme";
  std::string queue = "billing";
  int clients = 2000;
  int updates = 50;
  int timeout_ms = 10000;  // per update, and for connecting / the initial frames
  int in_flight = 128;     // handshakes under way at once
};

struct Client {
  enum class State { kIdle, kConnecting, kHandshake, kOpen, kClosed };
  int fd = -1;
  State state = State::kIdle;
  std::string accept;  // expected Sec-WebSocket-Accept
  std::string in;      // received bytes not yet consumed (from in_off)
  std::size_t in_off = 0;
  std::string out;      // bytes not yet written
  std::string message;  // a fragmented message being assembled
  bool in_message = false;
  bool hello = false;
  std::int64_t waiting = -1;  // the queue's waiting count in the last "queues" frame
  int got = 0;                // last update whose frame this client received
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)), rng_(std::random_device{}()) {}

  int Run() {
    RaiseFdLimit();
    const HttpResult login =
        Http(o_, "POST", "/api/v1/auth/login", "",
             R"({"login":")" + o_.user + R"(","password":")" + o_.password + R"("})");
    if (login.status != 200) Die("login: HTTP " + std::to_string(login.status) + " " + login.body);
    Members(login.body, 0, [&](std::string_view k, Pos v) {
      if (k == "token") token_ = std::string(StringAt(login.body, v).value_or(""));
    });
    if (token_.empty()) Die("login: no token in " + login.body);
    FindQueue();

    epfd_ = epoll_create1(0);
    if (epfd_ < 0) Die("epoll_create1");
    clients_.resize(static_cast<std::size_t>(o_.clients));
    const auto t_connect = Clock::now();
    ConnectAll();
    const double connect_s = Ms(Clock::now() - t_connect) / 1000.0;
    std::printf(
        "connected %d clients in %.2f s; all got hello and queue statistics (%s waiting: %lld)\n",
        o_.clients, connect_s, o_.queue.c_str(), static_cast<long long>(baseline_));
    std::fflush(stdout);

    std::vector<double> samples, posts;
    samples.reserve(static_cast<std::size_t>(o_.clients) * o_.updates);
    long missed = 0;
    std::uniform_int_distribution<int> gap(50, 150);  // not in step with the once-a-second refresh
    for (int k = 1; k <= o_.updates; ++k) {
      PumpFor(gap(rng_));
      missed += Update(k, samples, posts);
    }
    int open = 0;
    for (const Client& c : clients_) open += c.state == Client::State::kOpen;

    std::sort(samples.begin(), samples.end());
    std::sort(posts.begin(), posts.end());
    auto pct = [](const std::vector<double>& v, double p) {
      if (v.empty()) return 0.0;
      const std::size_t rank = static_cast<std::size_t>(p / 100.0 * v.size() + 0.999999);
      return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
    };
    std::printf("clients %d, updates %d, samples %zu, frames received %llu (%.1f MB)\n", o_.clients,
                o_.updates, samples.size(), static_cast<unsigned long long>(frames_), bytes_ / 1e6);
    std::printf(
        "delivery ms (POST written -> frame received): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
        pct(samples, 50), pct(samples, 90), pct(samples, 99), pct(samples, 100));
    std::printf(
        "POST reply ms (durable):                      p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
        pct(posts, 50), pct(posts, 90), pct(posts, 99), pct(posts, 100));
    std::printf("missed updates: %ld; connections still open: %d of %d; protocol errors: %d\n",
                missed, open, o_.clients, errors_);
    return missed == 0 && errors_ == 0 && open == o_.clients ? 0 : 1;
  }

 private:
  static constexpr std::uint64_t kControl = ~0ull;

  void RaiseFdLimit() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < static_cast<rlim_t>(o_.clients) + 32)
      Die("RLIMIT_NOFILE is " + std::to_string(rl.rlim_cur) + ": too low for " +
          std::to_string(o_.clients) + " clients (raise the hard limit: ulimit -Hn)");
  }

  void FindQueue() {
    const std::string base = "/api/v1/tenants/" + o_.tenant;
    const HttpResult qs = Http(o_, "GET", base + "/queues", token_);
    if (qs.status != 200) Die("GET queues: HTTP " + std::to_string(qs.status) + " " + qs.body);
    Elements(qs.body, 0, [&](Pos e) {
      std::int64_t id = 0;
      bool match = false;
      Members(qs.body, e, [&](std::string_view k, Pos v) {
        if (k == "id") id = IntAt(qs.body, v).value_or(0);
        if (k == "name") match = StringAt(qs.body, v) == std::optional<std::string_view>(o_.queue);
      });
      if (match) queue_id_ = id;
    });
    if (queue_id_ == 0) Die("no queue named " + o_.queue + " in tenant " + o_.tenant);
    const HttpResult st =
        Http(o_, "GET", base + "/stats/queues/" + std::to_string(queue_id_), token_);
    if (st.status != 200) Die("GET stats: HTTP " + std::to_string(st.status) + " " + st.body);
    Members(st.body, 0, [&](std::string_view k, Pos v) {
      if (k == "waiting") baseline_ = IntAt(st.body, v).value_or(-1);
    });
    if (baseline_ < 0) Die("no waiting count in " + st.body);
  }

  void Watch(int fd, std::uint64_t tag, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    if (epoll_ctl(epfd_, op, fd, &ev) != 0) Die(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  void Fail(Client& c, const std::string& why) {
    if (c.state == Client::State::kClosed) return;
    if (errors_++ < 5) std::fprintf(stderr, "bench_ws: client fd %d: %s\n", c.fd, why.c_str());
    CloseClient(c);
  }

  void CloseClient(Client& c) {
    if (c.state == Client::State::kClosed) return;
    if (c.state != Client::State::kOpen) --in_flight_;
    c.state = Client::State::kClosed;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
  }

  void Write(Client& c, std::string_view data) {
    if (c.out.empty()) {
      const ssize_t n = send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return Fail(c, std::string("send: ") + std::strerror(errno));
      if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
      if (data.empty()) return;
      Watch(c.fd, Tag(c), EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
    }
    c.out.append(data);
  }

  std::uint64_t Tag(const Client& c) const {
    return static_cast<std::uint64_t>(&c - clients_.data());
  }

  // A masked client frame (control frames only: payload <= 125 bytes).
  void SendFrame(Client& c, std::uint8_t opcode, std::string_view payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    f += static_cast<char>(0x80 | payload.size());
    const std::uint32_t key = static_cast<std::uint32_t>(rng_());
    const unsigned char mask[4] = {
        static_cast<unsigned char>(key), static_cast<unsigned char>(key >> 8),
        static_cast<unsigned char>(key >> 16), static_cast<unsigned char>(key >> 24)};
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f += static_cast<char>(payload[i] ^ mask[i % 4]);
    Write(c, f);
  }

  void StartConnect(Client& c) {
    c.fd = ConnectTcp(o_, true);
    c.state = Client::State::kConnecting;
    ++in_flight_;
    Watch(c.fd, Tag(c), EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
  }

  void OnConnected(Client& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(c, std::string("connect: ") + std::strerror(err));
    unsigned char nonce[16];
    for (unsigned char& b : nonce) b = static_cast<unsigned char>(rng_());
    const std::string key = Base64(nonce, sizeof nonce);
    c.accept = AcceptFor(key);
    c.state = Client::State::kHandshake;
    Watch(c.fd, Tag(c), EPOLLIN, EPOLL_CTL_MOD);
    Write(c, "GET /api/v1/events?tenant=" + o_.tenant + "&token=" + token_ +
                 " HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(o_.port) +
                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                 "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }

  void OnWritable(Client& c) {
    if (c.state == Client::State::kConnecting) return OnConnected(c);
    while (!c.out.empty()) {
      const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) return Fail(c, std::string("send: ") + std::strerror(errno));
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    Watch(c.fd, Tag(c), EPOLLIN, EPOLL_CTL_MOD);
  }

  void OnReadable(Client& c, Clock::time_point now) {
    char buf[65536];
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return Fail(c, n == 0 ? "server closed the connection" : std::strerror(errno));
    bytes_ += static_cast<std::uint64_t>(n);
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.state == Client::State::kHandshake) {
      const Pos end = c.in.find("\r\n\r\n");
      if (end == kBad) return;
      const std::string_view head(c.in.data(), end);
      if (head.substr(0, 12) != "HTTP/1.1 101")
        return Fail(c, "handshake refused: " + std::string(head.substr(0, head.find("\r\n"))));
      if (HeaderValue(head, "sec-websocket-accept") != c.accept)
        return Fail(c, "bad Sec-WebSocket-Accept");
      c.in_off = end + 4;
      c.state = Client::State::kOpen;
      --in_flight_;
    }
    if (c.state == Client::State::kOpen) Frames(c, now);
    if (c.in_off == c.in.size()) {
      c.in.clear();
      c.in_off = 0;
    } else if (c.in_off > 65536) {
      c.in.erase(0, c.in_off);
      c.in_off = 0;
    }
  }

  void Frames(Client& c, Clock::time_point now) {
    while (c.state == Client::State::kOpen) {
      const std::string_view s = std::string_view(c.in).substr(c.in_off);
      if (s.size() < 2) return;
      const auto b0 = static_cast<unsigned char>(s[0]), b1 = static_cast<unsigned char>(s[1]);
      const bool fin = b0 & 0x80;
      const unsigned opcode = b0 & 0x0f;
      if (b0 & 0x70) return Fail(c, "RSV bits set without an extension");
      if (b1 & 0x80) return Fail(c, "masked frame from the server");
      std::uint64_t len = b1 & 0x7f;
      std::size_t head = 2;
      if (len == 126) {
        if (s.size() < 4) return;
        len = (static_cast<unsigned char>(s[2]) << 8) | static_cast<unsigned char>(s[3]);
        head = 4;
      } else if (len == 127) {
        if (s.size() < 10) return;
        len = 0;
        for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(s[i]);
        head = 10;
      }
      if (s.size() - head < len) return;
      if (opcode >= 0x8 && (len > 125 || !fin)) return Fail(c, "bad control frame");
      const std::string_view payload = s.substr(head, len);
      c.in_off += head + len;
      switch (opcode) {
        case 0x9:
          SendFrame(c, 0xA, payload);
          break;  // ping -> pong
        case 0xA:
          break;
        case 0x8:
          SendFrame(c, 0x8, payload.substr(0, std::min<std::size_t>(2, payload.size())));
          return Fail(c, "server sent close");
        case 0x1:
        case 0x2:
          if (c.in_message) return Fail(c, "new message inside a fragmented one");
          if (fin) {
            Message(c, payload, now);
          } else {
            c.message.assign(payload);
            c.in_message = true;
          }
          break;
        case 0x0:
          if (!c.in_message) return Fail(c, "continuation without a message");
          c.message.append(payload);
          if (fin) {
            c.in_message = false;
            Message(c, c.message, now);
          }
          break;
        default:
          return Fail(c, "unknown opcode " + std::to_string(opcode));
      }
    }
  }

  void Message(Client& c, std::string_view text, Clock::time_point now) {
    ++frames_;
    std::string_view type;
    Pos queues = kBad;
    if (Members(text, 0, [&](std::string_view k, Pos v) {
          if (k == "type")
            type = StringAt(text, v).value_or("");
          else if (k == "queues")
            queues = v;
        }) == kBad)
      return Fail(c, "frame is not a JSON object: " + std::string(text.substr(0, 200)));
    if (type == "hello") {
      c.hello = true;
    } else if (type == "error") {
      return Fail(c, "server error frame: " + std::string(text.substr(0, 200)));
    } else if (type == "queues" && queues != kBad) {
      Elements(text, queues, [&](Pos e) {
        std::int64_t id = -1, waiting = -1;
        Members(text, e, [&](std::string_view k, Pos v) {
          if (k == "queue")
            id = IntAt(text, v).value_or(-1);
          else if (k == "waiting")
            waiting = IntAt(text, v).value_or(-1);
        });
        if (id == queue_id_) c.waiting = waiting;
      });
      if (update_ > 0 && c.got < update_ && c.waiting == baseline_ + update_) {
        c.got = update_;
        ++received_;
        samples_->push_back(Ms(now - t0_));
      }
    }
  }

  // One epoll_wait and what it reports.
  void Pump(int timeout_ms) {
    epoll_event evs[1024];
    const int n = epoll_wait(epfd_, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR) Die(std::string("epoll_wait: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
      const Clock::time_point now = Clock::now();
      if (evs[i].data.u64 == kControl) {
        ReadControl(now);
        continue;
      }
      Client& c = clients_[evs[i].data.u64];
      if (c.state == Client::State::kClosed) continue;
      if (evs[i].events & EPOLLOUT) OnWritable(c);
      if (c.state != Client::State::kClosed && c.state != Client::State::kConnecting &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        OnReadable(c, now);
    }
  }

  void PumpFor(int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    for (auto now = Clock::now(); now < until; now = Clock::now())
      Pump(static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count()));
  }

  void ConnectAll() {
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(o_.timeout_ms) +
        std::chrono::microseconds(o_.clients * 2000LL);  // ~0.5k handshakes/s at worst
    std::size_t next = 0;
    for (;;) {
      while (next < clients_.size() && in_flight_ < o_.in_flight) StartConnect(clients_[next++]);
      std::size_t ready = 0;
      for (const Client& c : clients_)
        ready += c.state == Client::State::kOpen && c.hello && c.waiting >= 0;
      if (ready == clients_.size()) return;
      if (errors_ > 0) Die("a connection failed (see above)");
      if (Clock::now() > deadline)
        Die("only " + std::to_string(ready) + " of " + std::to_string(clients_.size()) +
            " clients got hello and queue statistics in time");
      Pump(10);
    }
  }

  void ReadControl(Clock::time_point now) {
    char buf[16384];
    const ssize_t n = recv(control_fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) {
      control_in_.append(buf, static_cast<std::size_t>(n));
      return;
    }
    epoll_ctl(epfd_, EPOLL_CTL_DEL, control_fd_, nullptr);
    close(control_fd_);
    control_fd_ = -1;
    auto r = ParseHttpResponse(control_in_);
    if (!r || r->status != 201)
      Die("POST interactions: " +
          (r ? "HTTP " + std::to_string(r->status) + " " + r->body : "no response"));
    posts_->push_back(Ms(now - t0_));
  }

  // Puts one task into the queue and waits for every open client to see the new count.
  // Returns how many clients missed it.
  long Update(int k, std::vector<double>& samples, std::vector<double>& posts) {
    samples_ = &samples;
    posts_ = &posts;
    received_ = 0;
    control_in_.clear();
    control_fd_ = ConnectTcp(o_, false);  // loopback: connected on return
    const std::string body = R"({"channel":"task","queue":)" + std::to_string(queue_id_) +
                             R"(,"subject":"ws bench )" + std::to_string(k) + R"("})";
    const std::string req =
        HttpRequestText(o_, "POST", "/api/v1/tenants/" + o_.tenant + "/interactions", token_, body);
    update_ = k;
    t0_ = Clock::now();
    SendAll(control_fd_, req);
    Watch(control_fd_, kControl, EPOLLIN, EPOLL_CTL_ADD);
    const auto deadline = t0_ + std::chrono::milliseconds(o_.timeout_ms);
    long open = 0;
    for (;;) {
      open = 0;
      for (const Client& c : clients_) open += c.state == Client::State::kOpen;
      if (received_ >= open && control_fd_ < 0) break;
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "bench_ws: update %d: %ld of %ld clients got it within %d ms%s\n", k,
                     received_, open, o_.timeout_ms, control_fd_ >= 0 ? " (no POST reply)" : "");
        if (control_fd_ >= 0) Die("POST interactions: no reply");
        break;
      }
      Pump(5);
    }
    return o_.clients - received_;
  }

  Options o_;
  std::mt19937_64 rng_;
  std::string token_;
  std::int64_t queue_id_ = 0;
  std::int64_t baseline_ = -1;  // waiting count before the first update
  int epfd_ = -1;
  std::vector<Client> clients_;
  int in_flight_ = 0;  // connecting or handshaking
  int errors_ = 0;
  std::uint64_t frames_ = 0, bytes_ = 0;

  // The update under way.
  int update_ = 0;
  Clock::time_point t0_;
  long received_ = 0;
  int control_fd_ = -1;
  std::string control_in_;
  std::vector<double>* samples_ = nullptr;
  std::vector<double>* posts_ = nullptr;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() {
      const std::string v = value();
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n <= 0)
        Die(a + ": expected a positive integer");
      return n;
    };
    if (a == "--host")
      o.host = value();
    else if (a == "--port")
      o.port = number();
    else if (a == "--user")
      o.user = value();
    else if (a == "--password")
      o.password = value();
    else if (a == "--tenant")
      o.tenant = value();
    else if (a == "--queue")
      o.queue = value();
    else if (a == "--clients")
      o.clients = number();
    else if (a == "--updates")
      o.updates = number();
    else if (a == "--timeout-ms")
      o.timeout_ms = number();
    else if (a == "--in-flight")
      o.in_flight = number();
    else
      Die("unknown option " + a + " (see the comment at the top of bench/ws/ws_bench.cc)");
  }
  if (o.port == 0) Die("--port is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bench::SetProgramName("bench_ws");
  return Bench(ParseArgs(argc, argv)).Run();
}
