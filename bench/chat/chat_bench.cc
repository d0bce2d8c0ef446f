// Web chat benchmark: N concurrent chat conversations through the server, each a visitor
// WebSocket (/api/v1/public/chats/{id}/ws) and an agent desktop's WebSocket (/api/v1/events,
// one per agent, carrying up to 50 chats). Against a running server (bench/chat/run.sh starts
// one with the chat rate limits raised): as the platform admin it builds a tenant "chatbench"
// with one queue and ceil(N / 50) agents of 50 chat slots, starts N chats over the public REST
// route, has the agents accept them, opens the sockets, and then for --seconds both sides of
// every conversation send messages at --rate messages per second each (open loop, staggered):
// visitors {"type":"message"} on their socket, agents {"type":"chat.send"} on theirs.
//
// Measured, after a warm-up second: messages delivered per second (a message counts once, when
// the other side receives it), and the latency from just before the sender's frame is written
// to the other side's receipt (customer -> agent and agent -> customer). The server delivers a
// message only once its event is durable, so the figures include the commit (fsync). Every
// socket checks that each chat's messages arrive in seq order, each once; the run fails
// otherwise.
//
// Plain POSIX sockets and epoll, one thread (the approach and the helpers of bench/ws): the
// client shares the machine with the server and its own work is part of the latency.
//
// Usage: bench_chat --port P [--host 127.0.0.1] [--chats 1000] [--rate 1] [--seconds 20]
//          [--user ada] [--password demo] [--timeout-ms 10000]

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
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using namespace bench;  // bench/common/ws_client.h: the HTTP and WebSocket client, the JSON walker

struct Options : bench::Endpoint {
  std::string user = "ada";  // a platform admin: creates the bench tenant
  std::string password = "demo";
  int chats = 1000;
  double rate = 1;  // messages per second per conversation and side
  int seconds = 20;
  int timeout_ms = 10000;
  int in_flight = 128;  // handshakes under way at once
};

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Conn {
  enum class State { kIdle, kConnecting, kHandshake, kOpen, kClosed };
  int fd = -1;
  State state = State::kIdle;
  std::string path;    // the upgrade request's path and query
  std::string accept;  // expected Sec-WebSocket-Accept
  std::string in;
  std::size_t in_off = 0;
  std::string out;
  std::string message;
  bool in_message = false;
  bool hello = false;
  bool agent = false;  // an agent desktop (else a visitor)
  int index = 0;       // visitor: its chat; agent: the agent
};

struct Chat {
  std::int64_t id = 0;
  std::string token;
  int agent = -1;                  // index in agents_
  std::uint64_t visitor_seq = 0;   // last seq the visitor socket got
  std::uint64_t agent_seq = 0;     // last seq the agent socket got for this chat
  std::uint64_t sent_by_visitor = 0, sent_by_agent = 0;
};

struct Agent {
  std::string login;
  std::int64_t user = 0;
  std::string token;
  int conn = -1;
};

// What the server pushed: the fields of one frame the bench looks at.
struct Frame {
  std::string_view type;
  std::int64_t interaction = 0;
  std::int64_t seq = 0;
  std::string_view sender, text;
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)), rng_(std::random_device{}()) {}

  int Run() {
    RaiseFdLimit();
    Setup();
    epfd_ = epoll_create1(0);
    if (epfd_ < 0) Die("epoll_create1");
    const auto t_connect = Clock::now();
    ConnectAll();
    std::printf("%d chats with %zu agents (50 chat slots each): %zu sockets open in %.2f s\n",
                o_.chats, agents_.size(), conns_.size(), Ms(Clock::now() - t_connect) / 1000.0);
    std::fflush(stdout);
    Exchange();
    return Report();
  }

 private:
  // ---- set-up over REST ----------------------------------------------------------------------

  std::string Login(const std::string& user, const std::string& password, std::int64_t* id) {
    const HttpResult r = Http(o_, "POST", "/api/v1/auth/login", "",
                              R"({"login":")" + user + R"(","password":")" + password + R"("})");
    if (r.status != 200) Die("login " + user + ": HTTP " + std::to_string(r.status) + " " + r.body);
    std::string token;
    Members(r.body, 0, [&](std::string_view k, Pos v) {
      if (k == "token") token = std::string(StringAt(r.body, v).value_or(""));
      if (k == "user" && id != nullptr)
        Members(r.body, v, [&](std::string_view k2, Pos v2) {
          if (k2 == "id") *id = IntAt(r.body, v2).value_or(0);
        });
    });
    if (token.empty()) Die("login " + user + ": no token");
    return token;
  }

  HttpResult Must(const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body, int want) {
    HttpResult r = Http(o_, method, path, token, body);
    if (r.status != want)
      Die(method + " " + path + ": HTTP " + std::to_string(r.status) + " " + r.body);
    return r;
  }

  static std::int64_t IdOf(const std::string& body) {
    std::int64_t id = 0;
    Members(body, 0, [&](std::string_view k, Pos v) {
      if (k == "id") id = IntAt(body, v).value_or(0);
    });
    return id;
  }

  void Setup() {
    admin_ = Login(o_.user, o_.password, nullptr);
    const std::string t = "/api/v1/tenants/chatbench";
    Must("POST", "/api/v1/tenants", admin_, R"({"slug":"chatbench","name":"Chat bench"})", 201);
    const std::int64_t queue =
        IdOf(Must("POST", t + "/queues", admin_,
                  R"({"name":"chat","offer_timeout_s":3600,"wrapup_s":0})", 201)
                 .body);
    Must("PATCH", t, admin_, R"({"settings":{"chat_queue":)" + std::to_string(queue) + "}}", 200);
    const int n_agents = (o_.chats + 49) / 50;
    for (int i = 0; i < n_agents; ++i) {
      Agent a;
      a.login = "chatbench-" + std::to_string(i);
      Must("POST", t + "/users", admin_,
           R"({"login":")" + a.login +
               R"(","password":"benchpass","role":"agent","capacity":{"chat":50}})",
           201);
      a.token = Login(a.login, "benchpass", &a.user);
      Must("PUT", t + "/me/presence", a.token, R"({"state":"available"})", 200);
      agent_by_user_[a.user] = static_cast<int>(agents_.size());
      agents_.push_back(std::move(a));
    }
    const auto t_chats = Clock::now();
    chats_.resize(static_cast<std::size_t>(o_.chats));
    for (int i = 0; i < o_.chats; ++i) {
      Chat& c = chats_[static_cast<std::size_t>(i)];
      const HttpResult r =
          Must("POST", "/api/v1/public/tenants/chatbench/chats", "",
               R"({"name":"Visitor )" + std::to_string(i) + R"(","text":"hello"})", 201);
      Members(r.body, 0, [&](std::string_view k, Pos v) {
        if (k == "token") c.token = std::string(StringAt(r.body, v).value_or(""));
        if (k == "chat") c.id = IdOf(std::string(r.body.substr(v, SkipValue(r.body, v) - v)));
      });
      if (c.id == 0 || c.token.empty()) Die("no chat id or token in " + r.body);
      chat_by_id_[c.id] = i;
    }
    const double create_s = Ms(Clock::now() - t_chats) / 1000.0;
    // Every chat is offered at once (enough slots); each agent accepts its offers.
    const HttpResult live = Must("GET", t + "/interactions?live=1", admin_, "", 200);
    int accepted = 0;
    const auto t_accept = Clock::now();
    Elements(live.body, 0, [&](Pos e) {
      std::int64_t id = 0, agent = 0;
      Members(live.body, e, [&](std::string_view k, Pos v) {
        if (k == "id") id = IntAt(live.body, v).value_or(0);
        if (k == "agent") agent = IntAt(live.body, v).value_or(0);
      });
      auto c = chat_by_id_.find(id);
      auto a = agent_by_user_.find(agent);
      if (c == chat_by_id_.end() || a == agent_by_user_.end()) return;
      Must("POST", t + "/interactions/" + std::to_string(id) + "/accept", agents_[a->second].token,
           "", 200);
      chats_[c->second].agent = a->second;
      ++accepted;
    });
    if (accepted != o_.chats)
      Die("only " + std::to_string(accepted) + " of " + std::to_string(o_.chats) +
          " chats were offered to an agent");
    std::printf("set-up: %d chats started over REST in %.2f s (%.0f/s), accepted in %.2f s\n",
                o_.chats, create_s, o_.chats / create_s, Ms(Clock::now() - t_accept) / 1000.0);
  }

  // ---- sockets -------------------------------------------------------------------------------

  void RaiseFdLimit() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < static_cast<rlim_t>(o_.chats) * 11 / 10 + 64)
      Die("RLIMIT_NOFILE is " + std::to_string(rl.rlim_cur) + ": too low for " +
          std::to_string(o_.chats) + " chats (raise the hard limit: ulimit -Hn)");
  }

  void Watch(int fd, std::uint64_t tag, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    if (epoll_ctl(epfd_, op, fd, &ev) != 0) Die(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  void Fail(Conn& c, const std::string& why) {
    if (c.state == Conn::State::kClosed) return;
    if (errors_++ < 5)
      std::fprintf(stderr, "bench_chat: %s %d: %s\n", c.agent ? "agent" : "visitor", c.index,
                   why.c_str());
    if (c.state != Conn::State::kOpen) --in_flight_;
    c.state = Conn::State::kClosed;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
  }

  std::uint64_t Tag(const Conn& c) const { return static_cast<std::uint64_t>(&c - conns_.data()); }

  void Write(Conn& c, std::string_view data) {
    if (c.state == Conn::State::kClosed) return;
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

  // A masked client frame.
  void SendFrame(Conn& c, std::uint8_t opcode, std::string_view payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      f += static_cast<char>(0x80 | payload.size());
    } else {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>(payload.size() >> 8);
      f += static_cast<char>(payload.size() & 0xff);
    }
    const std::uint32_t key = static_cast<std::uint32_t>(rng_());
    const unsigned char mask[4] = {
        static_cast<unsigned char>(key), static_cast<unsigned char>(key >> 8),
        static_cast<unsigned char>(key >> 16), static_cast<unsigned char>(key >> 24)};
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f += static_cast<char>(payload[i] ^ mask[i % 4]);
    Write(c, f);
  }

  void StartConnect(Conn& c) {
    c.fd = ConnectTcp(o_, true);
    c.state = Conn::State::kConnecting;
    ++in_flight_;
    Watch(c.fd, Tag(c), EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
  }

  void OnConnected(Conn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(c, std::string("connect: ") + std::strerror(err));
    unsigned char nonce[16];
    for (unsigned char& b : nonce) b = static_cast<unsigned char>(rng_());
    const std::string key = Base64(nonce, sizeof nonce);
    c.accept = AcceptFor(key);
    c.state = Conn::State::kHandshake;
    Watch(c.fd, Tag(c), EPOLLIN, EPOLL_CTL_MOD);
    Write(c, "GET " + c.path + " HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(o_.port) +
                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                 "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }

  void OnWritable(Conn& c) {
    if (c.state == Conn::State::kConnecting) return OnConnected(c);
    while (!c.out.empty()) {
      const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) return Fail(c, std::string("send: ") + std::strerror(errno));
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    Watch(c.fd, Tag(c), EPOLLIN, EPOLL_CTL_MOD);
  }

  void OnReadable(Conn& c) {
    char buf[65536];
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return Fail(c, n == 0 ? "server closed the connection" : std::strerror(errno));
    bytes_ += static_cast<std::uint64_t>(n);
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.state == Conn::State::kHandshake) {
      const Pos end = c.in.find("\r\n\r\n");
      if (end == kBad) return;
      const std::string_view head(c.in.data(), end);
      if (head.substr(0, 12) != "HTTP/1.1 101")
        return Fail(c, "handshake refused: " + std::string(head.substr(0, head.find("\r\n"))));
      if (HeaderValue(head, "sec-websocket-accept") != c.accept)
        return Fail(c, "bad Sec-WebSocket-Accept");
      c.in_off = end + 4;
      c.state = Conn::State::kOpen;
      --in_flight_;
    }
    if (c.state == Conn::State::kOpen) Frames(c);
    if (c.in_off == c.in.size()) {
      c.in.clear();
      c.in_off = 0;
    } else if (c.in_off > 65536) {
      c.in.erase(0, c.in_off);
      c.in_off = 0;
    }
  }

  void Frames(Conn& c) {
    while (c.state == Conn::State::kOpen) {
      const std::string_view s = std::string_view(c.in).substr(c.in_off);
      if (s.size() < 2) return;
      const auto b0 = static_cast<unsigned char>(s[0]), b1 = static_cast<unsigned char>(s[1]);
      const bool fin = b0 & 0x80;
      const unsigned opcode = b0 & 0x0f;
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
      const std::string_view payload = s.substr(head, len);
      c.in_off += head + len;
      switch (opcode) {
        case 0x9: SendFrame(c, 0xA, payload); break;
        case 0xA: break;
        case 0x8: return Fail(c, "server sent close");
        case 0x1:
          if (fin) {
            Message(c, payload);
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
            Message(c, c.message);
          }
          break;
        default: return Fail(c, "unexpected opcode " + std::to_string(opcode));
      }
    }
  }

  static Frame Parse(std::string_view text) {
    Frame f;
    Members(text, 0, [&](std::string_view k, Pos v) {
      if (k == "type") f.type = StringAt(text, v).value_or("");
      if (k == "interaction" && text[v] != '{') f.interaction = IntAt(text, v).value_or(0);
      if (k == "message")
        Members(text, v, [&](std::string_view k2, Pos v2) {
          if (k2 == "seq") f.seq = IntAt(text, v2).value_or(0);
          if (k2 == "sender") f.sender = StringAt(text, v2).value_or("");
          if (k2 == "text") f.text = StringAt(text, v2).value_or("");
        });
    });
    return f;
  }

  // "v <ns>" or "a <ns>": who sent it and when.
  void Received(std::string_view text, bool to_agent) {
    if (text.size() < 3) return;
    std::int64_t sent_ns = 0;
    std::from_chars(text.data() + 2, text.data() + text.size(), sent_ns);
    const double ms = (NowNs() - sent_ns) / 1e6;
    const bool counted = sent_ns >= window_start_ns_ && sent_ns < window_end_ns_;
    if (to_agent) {
      ++received_by_agents_;
      if (counted) to_agent_ms_.push_back(ms);
    } else {
      ++received_by_visitors_;
      if (counted) to_visitor_ms_.push_back(ms);
    }
    if (counted) ++delivered_in_window_;
  }

  void Message(Conn& c, std::string_view text) {
    ++frames_;
    const Frame f = Parse(text);
    if (f.type == "error") return Fail(c, "server error frame: " + std::string(text.substr(0, 200)));
    if (f.type == "hello") {
      c.hello = true;
      return;
    }
    if (!c.agent && f.type == "message") {
      Chat& chat = chats_[static_cast<std::size_t>(c.index)];
      if (static_cast<std::uint64_t>(f.seq) != chat.visitor_seq + 1)
        return Fail(c, "chat " + std::to_string(chat.id) + ": seq " + std::to_string(f.seq) +
                           " after " + std::to_string(chat.visitor_seq));
      chat.visitor_seq = static_cast<std::uint64_t>(f.seq);
      if (f.sender == "agent") Received(f.text, /*to_agent=*/false);
    } else if (c.agent && f.type == "chat.message") {
      auto it = chat_by_id_.find(f.interaction);
      if (it == chat_by_id_.end()) return Fail(c, "a message of an unknown chat");
      Chat& chat = chats_[static_cast<std::size_t>(it->second)];
      if (chat.agent != c.index) return Fail(c, "a message of another agent's chat");
      if (static_cast<std::uint64_t>(f.seq) != chat.agent_seq + 1)
        return Fail(c, "chat " + std::to_string(chat.id) + ": seq " + std::to_string(f.seq) +
                           " after " + std::to_string(chat.agent_seq));
      chat.agent_seq = static_cast<std::uint64_t>(f.seq);
      if (f.sender == "visitor" && f.seq > 1) Received(f.text, /*to_agent=*/true);
    }
  }

  void Pump(int timeout_ms) {
    epoll_event evs[1024];
    const int n = epoll_wait(epfd_, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR) Die(std::string("epoll_wait: ") + std::strerror(errno));
    for (int i = 0; i < n; ++i) {
      Conn& c = conns_[evs[i].data.u64];
      if (c.state == Conn::State::kClosed) continue;
      if (evs[i].events & EPOLLOUT) OnWritable(c);
      if (c.state != Conn::State::kClosed && c.state != Conn::State::kConnecting &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        OnReadable(c);
    }
  }

  void ConnectAll() {
    conns_.reserve(agents_.size() + chats_.size());
    for (std::size_t i = 0; i < agents_.size(); ++i) {
      Conn c;
      c.agent = true;
      c.index = static_cast<int>(i);
      c.path = "/api/v1/events?tenant=chatbench&token=" + agents_[i].token;
      agents_[i].conn = static_cast<int>(conns_.size());
      conns_.push_back(std::move(c));
    }
    for (std::size_t i = 0; i < chats_.size(); ++i) {
      Conn c;
      c.index = static_cast<int>(i);
      // since=1: the first message (the REST one) is not needed again.
      c.path = "/api/v1/public/chats/" + std::to_string(chats_[i].id) + "/ws?token=" +
               chats_[i].token + "&since=1";
      chats_[i].visitor_seq = 1;
      visitor_conn_.push_back(static_cast<int>(conns_.size()));
      conns_.push_back(std::move(c));
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(o_.timeout_ms) +
                          std::chrono::microseconds(conns_.size() * 2000LL);
    std::size_t next = 0;
    for (;;) {
      while (next < conns_.size() && in_flight_ < o_.in_flight) StartConnect(conns_[next++]);
      std::size_t ready = 0;
      for (const Conn& c : conns_) ready += c.state == Conn::State::kOpen && c.hello;
      std::size_t synced = 0;  // the agent socket got each chat's first message
      for (const Chat& c : chats_) synced += c.agent_seq >= 1;
      if (ready == conns_.size() && synced == chats_.size()) return;
      if (errors_ > 0) Die("a connection failed (see above)");
      if (Clock::now() > deadline)
        Die(std::to_string(ready) + " of " + std::to_string(conns_.size()) + " sockets ready, " +
            std::to_string(synced) + " chats synced in time");
      Pump(10);
    }
  }

  // ---- the exchange --------------------------------------------------------------------------

  struct Due {
    std::int64_t at_ns;
    int chat;
    bool agent;
    bool operator>(const Due& o) const { return at_ns > o.at_ns; }
  };

  void Send(const Due& d) {
    Chat& chat = chats_[static_cast<std::size_t>(d.chat)];
    const std::string stamp = std::to_string(NowNs());
    if (d.agent) {
      Conn& c = conns_[static_cast<std::size_t>(agents_[static_cast<std::size_t>(chat.agent)].conn)];
      SendFrame(c, 0x1, R"({"type":"chat.send","interaction":)" + std::to_string(chat.id) +
                            R"(,"client_id":"a)" + std::to_string(++chat.sent_by_agent) +
                            R"(","text":"a )" + stamp + R"("})");
      ++sent_by_agents_;
    } else {
      Conn& c = conns_[static_cast<std::size_t>(visitor_conn_[static_cast<std::size_t>(d.chat)])];
      SendFrame(c, 0x1, R"({"type":"message","client_id":"v)" + std::to_string(++chat.sent_by_visitor) +
                            R"(","text":"v )" + stamp + R"("})");
      ++sent_by_visitors_;
    }
  }

  void Exchange() {
    const std::int64_t period = static_cast<std::int64_t>(1e9 / o_.rate);
    const std::int64_t start = NowNs();
    window_start_ns_ = start + 1'000'000'000;  // one second of warm-up
    window_end_ns_ = start + static_cast<std::int64_t>(o_.seconds) * 1'000'000'000;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
    std::uniform_int_distribution<std::int64_t> offset(0, period - 1);
    for (int i = 0; i < o_.chats; ++i) {
      due.push({start + offset(rng_), i, false});
      due.push({start + offset(rng_), i, true});
    }
    std::printf("exchanging for %d s at %.2f messages/s per conversation and side (%.0f/s offered)\n",
                o_.seconds, o_.rate, 2 * o_.chats * o_.rate);
    std::fflush(stdout);
    for (;;) {
      const std::int64_t now = NowNs();
      if (now >= window_end_ns_) break;
      while (!due.empty() && due.top().at_ns <= now) {
        Due d = due.top();
        due.pop();
        Send(d);
        d.at_ns += period;
        due.push(d);
      }
      if (errors_ > 0) Die("a connection failed (see above)");
      const std::int64_t wait_ns = due.empty() ? 1'000'000 : due.top().at_ns - NowNs();
      Pump(static_cast<int>(std::clamp<std::int64_t>(wait_ns / 1'000'000, 0, 5)));
    }
    // Drain: everything sent must arrive.
    const auto deadline = Clock::now() + std::chrono::milliseconds(o_.timeout_ms);
    while (Clock::now() < deadline && (received_by_agents_ < sent_by_visitors_ ||
                                       received_by_visitors_ < sent_by_agents_) &&
           errors_ == 0)
      Pump(5);
  }

  int Report() {
    auto pct = [](std::vector<double>& v, double p) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      const std::size_t rank = static_cast<std::size_t>(p / 100.0 * v.size() + 0.999999);
      return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
    };
    const double window_s = (window_end_ns_ - window_start_ns_) / 1e9;
    int open = 0;
    for (const Conn& c : conns_) open += c.state == Conn::State::kOpen;
    std::printf("sent: visitors %llu, agents %llu; received: by agents %llu, by visitors %llu; "
                "frames %llu (%.1f MB)\n",
                static_cast<unsigned long long>(sent_by_visitors_),
                static_cast<unsigned long long>(sent_by_agents_),
                static_cast<unsigned long long>(received_by_agents_),
                static_cast<unsigned long long>(received_by_visitors_),
                static_cast<unsigned long long>(frames_), bytes_ / 1e6);
    std::printf("sustained: %.0f messages/s delivered (both directions, %.0f s after a 1 s warm-up)\n",
                delivered_in_window_ / window_s, window_s);
    std::printf("customer -> agent ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu samples)\n",
                pct(to_agent_ms_, 50), pct(to_agent_ms_, 90), pct(to_agent_ms_, 99),
                pct(to_agent_ms_, 100), to_agent_ms_.size());
    std::printf("agent -> customer ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu samples)\n",
                pct(to_visitor_ms_, 50), pct(to_visitor_ms_, 90), pct(to_visitor_ms_, 99),
                pct(to_visitor_ms_, 100), to_visitor_ms_.size());
    const bool lost = received_by_agents_ != sent_by_visitors_ ||
                      received_by_visitors_ != sent_by_agents_;
    std::printf("every message once and in order: %s; sockets open %d of %zu; errors %d\n",
                lost || errors_ ? "NO" : "yes", open, conns_.size(), errors_);
    return !lost && errors_ == 0 && open == static_cast<int>(conns_.size()) ? 0 : 1;
  }

  Options o_;
  std::mt19937_64 rng_;
  std::string admin_;
  std::vector<Agent> agents_;
  std::unordered_map<std::int64_t, int> agent_by_user_;
  std::vector<Chat> chats_;
  std::unordered_map<std::int64_t, int> chat_by_id_;
  std::vector<Conn> conns_;
  std::vector<int> visitor_conn_;
  int epfd_ = -1;
  int in_flight_ = 0;
  int errors_ = 0;
  std::uint64_t frames_ = 0, bytes_ = 0;
  std::int64_t window_start_ns_ = 0, window_end_ns_ = 0;
  std::uint64_t sent_by_visitors_ = 0, sent_by_agents_ = 0;
  std::uint64_t received_by_agents_ = 0, received_by_visitors_ = 0;
  std::uint64_t delivered_in_window_ = 0;
  std::vector<double> to_agent_ms_, to_visitor_ms_;
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
    if (a == "--host") o.host = value();
    else if (a == "--port") o.port = number();
    else if (a == "--user") o.user = value();
    else if (a == "--password") o.password = value();
    else if (a == "--chats") o.chats = number();
    else if (a == "--seconds") o.seconds = number();
    else if (a == "--timeout-ms") o.timeout_ms = number();
    else if (a == "--in-flight") o.in_flight = number();
    else if (a == "--rate") {
      o.rate = std::atof(value().c_str());
      if (!(o.rate > 0 && o.rate <= 1000)) Die("--rate: expected messages per second, 0 < r <= 1000");
    } else {
      Die("unknown option " + a + " (see the comment at the top of bench/chat/chat_bench.cc)");
    }
  }
  if (o.port == 0) Die("--port is required");
  if (o.seconds < 2) Die("--seconds: at least 2 (one is warm-up)");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bench::SetProgramName("bench_chat");
  return Bench(ParseArgs(argc, argv)).Run();
}
