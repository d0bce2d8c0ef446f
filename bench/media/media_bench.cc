// RTP relay benchmark: N bridged calls, 20 ms G.711 (172-byte packets) both ways over loopback,
// through Homeline's MediaEngine (in this process, its own thread) or through rtpengine
// (driven over its ng control protocol; started by bench/media/run.sh in userspace mode).
//
// The load generator sends from a few sockets with sendmmsg, the calls spread over the 20 ms
// period in 1 ms slots (as independent phones would), and receives with recvmmsg; each stream
// is one SSRC, so the relay's raw forwarding tells the receiver which stream a packet is.
// Measured over a window after a warm-up (latching/learning): packets lost (sequence numbers
// sent in the window and never received), and the relay's CPU time (Homeline: its media
// threads' CPU clocks; rtpengine: the process's utime+stime from /proc). Calls per CPU core =
// 1 / (CPU seconds per packet relayed x 100 packets per call-second).
//
// Usage: bench_media [--calls N] [--seconds S] [--warmup S] [--threads T] [--sockets G]
//                    [--target homeline|rtpengine] [--ng HOST:PORT] [--pid PID]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "adapters/media/media_engine.h"
#include "adapters/media/rtp.h"

using namespace homeline;
using namespace homeline::media;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  int calls = 1000;
  double seconds = 10;
  double warmup = 2;
  int threads = 1;
  int sockets = 16;
  int coalesce_us = -1;  // -1: the engine's default
  std::string target = "homeline";
  std::string ng = "127.0.0.1:2223";
  int pid = 0;
};

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

int GenSocket(std::uint16_t* port) {
  // Blocking sends: a full send buffer waits instead of silently not sending (the receiver
  // reads with MSG_DONTWAIT).
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = Loopback(0);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int big = 16 << 20;
  // SO_*BUFFORCE passes rmem_max when run as root; otherwise the plain option's ceiling.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// ---- rtpengine's ng protocol: "cookie bencode-dict" over UDP ----

std::string Bstr(const std::string& s) { return std::to_string(s.size()) + ":" + s; }

std::string Bdict(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out = "d";
  for (const auto& [k, v] : kv) out += Bstr(k) + Bstr(v);
  return out + "e";
}

// The value of a top-level string key in a bencoded dict reply (enough for result and sdp).
std::string BdictGet(const std::string& d, const std::string& key) {
  std::size_t i = 1;
  while (i < d.size() && d[i] != 'e') {
    auto read_str = [&](std::string* out) -> bool {
      std::size_t colon = d.find(':', i);
      if (colon == std::string::npos) return false;
      std::size_t n = std::stoul(d.substr(i, colon - i));
      *out = d.substr(colon + 1, n);
      i = colon + 1 + n;
      return true;
    };
    std::string k, v;
    if (!read_str(&k)) return "";
    if (!std::isdigit(static_cast<unsigned char>(d[i]))) return "";  // not a string value
    if (!read_str(&v)) return "";
    if (k == key) return v;
  }
  return "";
}

class NgClient {
 public:
  explicit NgClient(const std::string& hostport) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    std::size_t colon = hostport.rfind(':');
    addr_ = Loopback(static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1))));
    inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr_.sin_addr);
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NgClient() { close(fd_); }
  std::string Call(const std::vector<std::pair<std::string, std::string>>& kv) {
    // rtpengine caches replies by cookie: unique per process, or a rerun gets stale answers.
    std::string cookie = std::to_string(getpid()) + "_" + std::to_string(++n_);
    std::string msg = cookie + " " + Bdict(kv);
    sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
    char buf[65536];
    for (;;) {
      ssize_t r = recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) return "";
      std::string reply(buf, static_cast<std::size_t>(r));
      if (reply.rfind(cookie + " ", 0) == 0) return reply.substr(cookie.size() + 1);
    }
  }

 private:
  int fd_;
  sockaddr_in addr_;
  int n_ = 0;
};

// Unique per run: rtpengine keeps deleted calls for a while.
std::string CallId(int call) { return fmt::format("bench-{}-{}", getpid(), call); }

std::string Sdp(std::uint16_t port, int session) {
  std::ostringstream s;
  s << "v=0\r\no=- " << session << " 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\n"
    << "t=0 0\r\nm=audio " << port << " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
  return s.str();
}

std::uint16_t SdpPort(const std::string& sdp) {
  std::size_t m = sdp.find("m=audio ");
  if (m == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(sdp.substr(m + 8)));
}

// UDP datagrams the kernel dropped for full receive buffers (all sockets, /proc/net/snmp).
std::uint64_t UdpRcvbufErrors() {
  std::ifstream f("/proc/net/snmp");
  std::string header, values, line;
  while (std::getline(f, line)) {
    if (line.rfind("Udp:", 0) != 0) continue;
    if (header.empty()) {
      header = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream h(header), v(values);
  std::string name, value;
  while (h >> name && v >> value) {
    if (name == "RcvbufErrors") return std::stoull(value);
  }
  return 0;
}

std::uint64_t ProcessCpuNs(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  std::size_t close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  // After the command: state is field 3; utime and stime are fields 14 and 15 (1-based).
  std::uint64_t ticks = std::stoull(fields.at(11)) + std::stoull(fields.at(12));
  return ticks * 1'000'000'000ull / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--calls") args.calls = std::stoi(v);
    else if (k == "--seconds") args.seconds = std::stod(v);
    else if (k == "--warmup") args.warmup = std::stod(v);
    else if (k == "--threads") args.threads = std::stoi(v);
    else if (k == "--sockets") args.sockets = std::stoi(v);
    else if (k == "--target") args.target = v;
    else if (k == "--ng") args.ng = v;
    else if (k == "--pid") args.pid = std::stoi(v);
    else if (k == "--coalesce-us") args.coalesce_us = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const int streams = 2 * args.calls;
  std::vector<int> gen_fd(static_cast<std::size_t>(args.sockets));
  std::vector<std::uint16_t> gen_port(gen_fd.size());
  for (std::size_t g = 0; g < gen_fd.size(); ++g) gen_fd[g] = GenSocket(&gen_port[g]);
  // Stream s = 2*call + side (0: customer, sending to leg A; 1: agent, to leg B).
  auto sock_of = [&](int s) { return static_cast<std::size_t>(s % args.sockets); };
  std::vector<std::uint16_t> dest(static_cast<std::size_t>(streams));

  std::unique_ptr<MediaEngine> engine;
  std::unique_ptr<NgClient> ng;
  if (args.target == "homeline") {
    Options o;
    o.threads = args.threads;
    if (args.coalesce_us >= 0) o.coalesce_us = args.coalesce_us;
    o.port_min = 20000;
    o.port_max = static_cast<std::uint16_t>(20000 + 2 * streams + 100);
    auto e = MediaEngine::Start(o);
    if (!e) {
      std::fprintf(stderr, "start: %s\n", e.error().message.c_str());
      return 1;
    }
    engine = std::move(*e);
    for (int c = 0; c < args.calls; ++c) {
      auto a = engine->OpenLeg();
      if (!a) {
        std::fprintf(stderr, "open: %s\n", a.error().message.c_str());
        return 1;
      }
      auto b = engine->OpenLegNear(a->id);
      if (!b) {
        std::fprintf(stderr, "open: %s\n", b.error().message.c_str());
        return 1;
      }
      engine->SetRemote(a->id, {"127.0.0.1", gen_port[sock_of(2 * c)]}, Codec::kPcmu, 101);
      engine->SetRemote(b->id, {"127.0.0.1", gen_port[sock_of(2 * c + 1)]}, Codec::kPcmu, 101);
      engine->Bridge(a->id, b->id);
      dest[static_cast<std::size_t>(2 * c)] = a->local_port;
      dest[static_cast<std::size_t>(2 * c + 1)] = b->local_port;
    }
  } else if (args.target == "rtpengine") {
    if (args.pid == 0) {
      std::fprintf(stderr, "--pid of rtpengine is needed to measure its CPU\n");
      return 2;
    }
    ng = std::make_unique<NgClient>(args.ng);
    if (BdictGet(ng->Call({{"command", "ping"}}), "result") != "pong") {
      std::fprintf(stderr, "rtpengine does not answer ng ping on %s\n", args.ng.c_str());
      return 1;
    }
    for (int c = 0; c < args.calls; ++c) {
      std::string call_id = CallId(c);
      std::string offer = ng->Call({{"command", "offer"}, {"call-id", call_id},
                                    {"from-tag", "a" + std::to_string(c)},
                                    {"sdp", Sdp(gen_port[sock_of(2 * c)], c)}});
      std::uint16_t to_callee = SdpPort(BdictGet(offer, "sdp"));
      std::string answer = ng->Call({{"command", "answer"}, {"call-id", call_id},
                                     {"from-tag", "a" + std::to_string(c)},
                                     {"to-tag", "b" + std::to_string(c)},
                                     {"sdp", Sdp(gen_port[sock_of(2 * c + 1)], c)}});
      std::uint16_t to_caller = SdpPort(BdictGet(answer, "sdp"));
      if (!to_callee || !to_caller) {
        std::fprintf(stderr, "rtpengine offer/answer failed for call %d: %s / %s\n", c,
                     offer.c_str(), answer.c_str());
        return 1;
      }
      dest[static_cast<std::size_t>(2 * c)] = to_caller;      // the caller sends here
      dest[static_cast<std::size_t>(2 * c + 1)] = to_callee;  // the callee sends here
    }
  } else {
    std::fprintf(stderr, "--target homeline|rtpengine\n");
    return 2;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // commands applied

  const int max_seq = static_cast<int>((args.warmup + args.seconds + 2) * 50);
  std::vector<std::vector<std::uint8_t>> got(static_cast<std::size_t>(streams),
                                             std::vector<std::uint8_t>(static_cast<std::size_t>(max_seq)));
  std::vector<std::uint16_t> next_seq(static_cast<std::size_t>(streams), 0);
  std::atomic<bool> stop_rx{false};
  std::atomic<std::uint64_t> rx_total{0}, rx_bad{0};
  // One-way delay (generator -> relay -> generator) in 0.1 ms bins up to 1 s, whole run.
  constexpr std::int64_t kHistBins = 10000;
  std::vector<std::uint64_t> delay_hist(kHistBins, 0);

  std::thread receiver([&] {
    int ep = epoll_create1(0);
    for (std::size_t g = 0; g < gen_fd.size(); ++g) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = g;
      epoll_ctl(ep, EPOLL_CTL_ADD, gen_fd[g], &ev);
    }
    constexpr int kBatch = 64;
    std::vector<std::array<std::uint8_t, 512>> bufs(kBatch);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      iov[static_cast<std::size_t>(i)] = {bufs[static_cast<std::size_t>(i)].data(), 512};
      msgs[static_cast<std::size_t>(i)].msg_hdr = {};
      msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<std::size_t>(i)];
      msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iovlen = 1;
    }
    epoll_event events[64];
    std::uint64_t total = 0;
    for (;;) {
      // When told to stop, read whatever is still queued on every socket, then leave: a
      // starved receiver must not count packets it never read as lost.
      const bool last = stop_rx.load(std::memory_order_relaxed);
      int n = last ? static_cast<int>(gen_fd.size()) : epoll_wait(ep, events, 64, 50);
      for (int e = 0; e < n; ++e) {
        int fd = last ? gen_fd[static_cast<std::size_t>(e)] : gen_fd[events[e].data.u64];
        int r;
        while ((r = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr)) > 0) {
          for (int i = 0; i < r; ++i) {
            rtp::Packet p;
            const auto* b = bufs[static_cast<std::size_t>(i)].data();
            if (!rtp::Parse(b, msgs[static_cast<std::size_t>(i)].msg_len, &p) ||
                p.payload_size != 160 || p.ssrc >= static_cast<std::uint32_t>(streams) ||
                p.seq >= max_seq) {
              rx_bad.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            got[p.ssrc][p.seq] = 1;
            std::int64_t sent_ns;
            std::memcpy(&sent_ns, b + p.payload_offset, sizeof sent_ns);
            const std::int64_t delay_us =
                (std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
                     .count() - sent_ns) / 1000;
            delay_hist[static_cast<std::size_t>(std::clamp<std::int64_t>(delay_us / 100, 0, kHistBins - 1))]++;
            ++total;
          }
          if (r < kBatch && !last) break;
        }
      }
      rx_total.store(total, std::memory_order_relaxed);
      if (last) break;
      // The phones' side naps like a NIC's interrupt coalescing: on loopback the relay's send
      // pays for delivering into our sockets, wake-ups included, which a relay sending to
      // remote phones over a network does not. Fewer wake-ups here keep that cost (the same
      // for both relays) from dominating the comparison.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    close(ep);
  });

  // Sender: 1 ms slots; call c sends both its streams in slot c % 20.
  std::vector<std::uint16_t> window_first(static_cast<std::size_t>(streams)),
      window_end(static_cast<std::size_t>(streams));
  std::uint64_t cpu_start = 0, cpu_end = 0;
  const std::uint64_t rcvbuf_errors_start = UdpRcvbufErrors();
  Clock::time_point wall_start, wall_end;
  {
    std::uint8_t payload[160];
    std::memset(payload, 0xD5, sizeof payload);
    const auto start = Clock::now();
    const auto window_at = start + std::chrono::milliseconds(static_cast<long>(args.warmup * 1000));
    const auto end_at = window_at + std::chrono::milliseconds(static_cast<long>(args.seconds * 1000));
    bool in_window = false;
    std::vector<std::vector<std::array<std::uint8_t, 172>>> pkts(gen_fd.size());
    std::vector<std::vector<sockaddr_in>> addrs(gen_fd.size());
    std::vector<std::vector<mmsghdr>> msgs(gen_fd.size());
    std::vector<std::vector<iovec>> iovs(gen_fd.size());
    std::size_t per_slot = static_cast<std::size_t>(streams / 20 + 64);
    for (std::size_t g = 0; g < gen_fd.size(); ++g) {
      pkts[g].resize(per_slot);
      addrs[g].resize(per_slot);
      msgs[g].resize(per_slot);
      iovs[g].resize(per_slot);
    }
    for (long tick = 0;; ++tick) {
      auto slot_time = start + std::chrono::milliseconds(tick);
      std::this_thread::sleep_until(slot_time);
      auto now = Clock::now();
      if (!in_window && now >= window_at) {
        in_window = true;
        window_first = next_seq;
        wall_start = now;
        cpu_start = engine ? engine->stats().cpu_ns : ProcessCpuNs(args.pid);
      }
      if (now >= end_at) {
        window_end = next_seq;
        wall_end = now;
        cpu_end = engine ? engine->stats().cpu_ns : ProcessCpuNs(args.pid);
        break;
      }
      std::vector<std::size_t> count(gen_fd.size(), 0);
      for (int c = static_cast<int>(tick % 20); c < args.calls; c += 20) {
        for (int side = 0; side < 2; ++side) {
          int s = 2 * c + side;
          std::size_t g = sock_of(s);
          std::size_t k = count[g]++;
          if (k >= per_slot) continue;
          auto& pkt = pkts[g][k];
          std::uint16_t seq = next_seq[static_cast<std::size_t>(s)]++;
          rtp::WriteHeader(pkt.data(), 0, false, seq, seq * 160u, static_cast<std::uint32_t>(s));
          std::memcpy(pkt.data() + 12, payload, 160);
          // The send time rides in the payload (raw relay keeps it): one-way delay at the far end.
          const std::int64_t sent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           Clock::now().time_since_epoch()).count();
          std::memcpy(pkt.data() + 12, &sent_ns, sizeof sent_ns);
          addrs[g][k] = Loopback(dest[static_cast<std::size_t>(s)]);
          iovs[g][k] = {pkt.data(), pkt.size()};
          msgs[g][k].msg_hdr = {};
          msgs[g][k].msg_hdr.msg_name = &addrs[g][k];
          msgs[g][k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
          msgs[g][k].msg_hdr.msg_iov = &iovs[g][k];
          msgs[g][k].msg_hdr.msg_iovlen = 1;
        }
      }
      for (std::size_t g = 0; g < gen_fd.size(); ++g) {
        std::size_t done = 0;
        while (done < count[g]) {
          int r = sendmmsg(gen_fd[g], msgs[g].data() + done, static_cast<unsigned>(count[g] - done), 0);
          if (r <= 0) break;
          done += static_cast<std::size_t>(r);
        }
      }
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // in flight
  stop_rx = true;
  receiver.join();

  std::uint64_t sent = 0, lost = 0;
  for (int s = 0; s < streams; ++s) {
    for (int q = window_first[static_cast<std::size_t>(s)]; q < window_end[static_cast<std::size_t>(s)]; ++q) {
      ++sent;
      lost += got[static_cast<std::size_t>(s)][static_cast<std::size_t>(q)] == 0;
    }
  }
  double wall = std::chrono::duration<double>(wall_end - wall_start).count();
  double cpu = static_cast<double>(cpu_end - cpu_start) / 1e9;
  double cpu_frac = cpu / wall;
  std::printf("target=%s calls=%d window=%.1fs packets/s relayed=%.0f\n", args.target.c_str(),
              args.calls, wall, static_cast<double>(sent - lost) / wall);
  std::printf("loss=%.4f%% (%llu of %llu) bad=%llu kernel_rcvbuf_drops=%llu\n",
              sent ? 100.0 * static_cast<double>(lost) / static_cast<double>(sent) : 0.0,
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(rx_bad.load()),
              static_cast<unsigned long long>(UdpRcvbufErrors() - rcvbuf_errors_start));
  // A call relays 100 packets a second (50 each way). The CPU per packet relayed gives the
  // calls a core would carry, even when the generator fell short of the offered load on a
  // busy machine (offered says how much of it was sent).
  const double relayed = static_cast<double>(sent - lost);
  const double cpu_per_packet = relayed > 0 ? cpu / relayed : 0;
  const double offered = relayed / wall / (100.0 * args.calls);
  std::printf("relay_cpu=%.1f%% of a core, cpu_per_packet_us=%.2f, cpu_per_100_calls=%.2f%%, "
              "calls_per_core=%.0f, offered=%.0f%%\n",
              100 * cpu_frac, cpu_per_packet * 1e6, 100 * cpu_per_packet * 100 * 100,
              cpu_per_packet > 0 ? 1.0 / (cpu_per_packet * 100) : 0.0, 100 * offered);
  {
    std::uint64_t total = 0;
    for (auto n : delay_hist) total += n;
    auto pct = [&](double q) {
      std::uint64_t want = static_cast<std::uint64_t>(q * static_cast<double>(total)), seen = 0;
      for (std::size_t i = 0; i < delay_hist.size(); ++i) {
        seen += delay_hist[i];
        if (seen > want) return static_cast<double>(i) / 10.0;
      }
      return 100.0 * 10;
    };
    std::printf("one-way delay through the relay (ms, 0.1 ms bins, incl. the generator's own "
                "scheduling): p50=%.1f p99=%.1f p99.9=%.1f\n", pct(0.5), pct(0.99), pct(0.999));
  }
  if (engine) {
    Stats st = engine->stats();
    std::printf("engine: in=%llu relayed=%llu foreign=%llu no_remote=%llu send_errors=%llu\n",
                static_cast<unsigned long long>(st.packets_in),
                static_cast<unsigned long long>(st.packets_relayed),
                static_cast<unsigned long long>(st.dropped_foreign),
                static_cast<unsigned long long>(st.dropped_no_remote),
                static_cast<unsigned long long>(st.send_errors));
  }
  if (ng) {
    for (int c = 0; c < args.calls; ++c) {
      ng->Call({{"command", "delete"}, {"call-id", CallId(c)},
                {"from-tag", "a" + std::to_string(c)}});
    }
  }
  for (int fd : gen_fd) close(fd);
  return 0;
}
