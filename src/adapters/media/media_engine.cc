#include "adapters/media/media_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/media/g711.h"
#include "adapters/media/prompts.h"
#include "adapters/media/recorder.h"
#include "adapters/media/rtp.h"

namespace homeline::media {
namespace {

constexpr int kFrame = 160;                  // samples (and G.711 bytes) per 20 ms
constexpr DurationMs kRelatchAfter = 2000;   // latched source silent this long: may move
constexpr int kRxBatch = 16;                 // packets read per recvmmsg
// Turns of the media loop further apart than this read every socket in batches (recvmmsg);
// closer together, a latched leg reads one packet per turn (a phone sends one per 20 ms).
constexpr DurationMs kCatchUpAfter = 8;
constexpr std::size_t kRxBufSize = 2048;
constexpr std::size_t kFifoMax = 3 * kFrame;  // captured audio kept at most (60 ms)
constexpr int kMaxCatchUpFrames = 3;          // ticks missed by a busy thread sent at once
constexpr int kTimeoutCheckTicks = 50;        // once a second
constexpr std::size_t kRecordChunkFrames = kSampleRate;  // hand the writer 1 s at a time

TimeMs MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<TimeMs>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// A socket address of either family. A leg's socket has one family, fixed when it opens: IPv4
// legs are AF_INET (sockaddr_in), IPv6 legs AF_INET6 with IPV6_V6ONLY; every address a leg
// stores, receives or sends to is of its own family (decision 51: a dual-stack AF_INET6 socket
// for IPv4 peers cost a route lookup per packet sent, since the kernel hands a v4-mapped send
// to the IPv4 code as an unconnected one).
union SockAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

socklen_t AddrLen(const SockAddr& a) {
  return a.sa.sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

bool SameAddr(const SockAddr& a, const SockAddr& b) {
  if (a.sa.sa_family == AF_INET) {  // the common case: 6 bytes compared
    return b.sa.sa_family == AF_INET && a.v4.sin_port == b.v4.sin_port &&
           a.v4.sin_addr.s_addr == b.v4.sin_addr.s_addr;
  }
  return a.sa.sa_family == b.sa.sa_family && a.v6.sin6_port == b.v6.sin6_port &&
         std::memcmp(&a.v6.sin6_addr, &b.v6.sin6_addr, sizeof a.v6.sin6_addr) == 0;
}

// An IPv4 or IPv6 literal ("[::1]" too) as a socket address of its own family.
bool ToSockaddr(std::string_view text, std::uint16_t port, SockAddr* out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  const std::string s(text);
  *out = SockAddr{};
  if (inet_pton(AF_INET, s.c_str(), &out->v4.sin_addr) == 1) {
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(port);
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), &out->v6.sin6_addr) == 1) {
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons(port);
    return true;
  }
  return false;
}

// Converts `a` to `family` when it names the same host (an IPv4-mapped IPv6 address is the
// IPv4 address); false when it cannot: an IPv4 leg cannot reach an IPv6 address, nor an IPv6
// leg (IPV6_V6ONLY) an IPv4 one.
bool FitFamily(SockAddr* a, sa_family_t family) {
  if (a->sa.sa_family == family) return true;
  if (family == AF_INET && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr)) {
    SockAddr v4{};
    v4.v4.sin_family = AF_INET;
    v4.v4.sin_port = a->v6.sin6_port;
    std::memcpy(&v4.v4.sin_addr, &a->v6.sin6_addr.s6_addr[12], 4);
    *a = v4;
    return true;
  }
  return false;
}

// Single-writer counters: the owning thread updates them without a locked instruction and
// stats() reads them from any thread.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void Add(std::uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void Set(std::uint64_t n) { v.store(n, std::memory_order_relaxed); }
  std::uint64_t Get() const { return v.load(std::memory_order_relaxed); }
};

struct Counters {
  Counter legs, packets_in, packets_out, packets_relayed, packets_transcoded, dropped_no_remote,
      dropped_foreign, dropped_malformed, send_errors, relatches, dtmf_digits, cpu_ns;
};

// Received audio of a leg, decoded, for the recorder and the mixer. Bounded: a sender faster
// than the 20 ms tick loses its oldest samples rather than growing the delay.
class SampleFifo {
 public:
  void Push(const std::int16_t* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      buf_[(head_ + size_) % buf_.size()] = s[i];
      if (size_ < buf_.size()) {
        ++size_;
      } else {
        head_ = (head_ + 1) % buf_.size();
      }
    }
    if (size_ > kFifoMax) {
      head_ = (head_ + size_ - kFifoMax) % buf_.size();
      size_ = kFifoMax;
    }
  }
  void PopFrame(std::int16_t* out) {
    std::size_t n = std::min<std::size_t>(size_, kFrame);
    for (std::size_t i = 0; i < n; ++i) out[i] = buf_[(head_ + i) % buf_.size()];
    std::fill(out + n, out + kFrame, std::int16_t{0});
    head_ = (head_ + n) % buf_.size();
    size_ -= n;
  }
  void Clear() { head_ = size_ = 0; }

 private:
  std::array<std::int16_t, 1024> buf_{};
  std::size_t head_ = 0, size_ = 0;
};

struct Player {
  std::vector<std::shared_ptr<const Prompt>> sequence;
  bool loop = false;
  std::size_t index = 0, offset = 0;
};

struct Leg {
  Leg() = default;
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;
  // Closes the socket of a leg that never reached its thread (engine stopped first).
  ~Leg() {
    if (fd >= 0) close(fd);
  }
  LegId id = 0;
  int fd = -1;
  std::uint16_t port = 0;
  sa_family_t family = AF_INET;  // of its socket, and of dst
  SockAddr dst{};          // where its media goes: latched source, else SDP address
  bool has_dst = false;
  bool latched = false;
  // Latched legs connect their socket to the source: the kernel then drops other sources and
  // keeps the route cached (no lookup per packet sent). Undone when the source goes quiet.
  bool connected = false;
  TimeMs last_rx = 0;      // last packet from dst (or SetRemote)
  bool timeout_reported = false;
  Codec codec = Codec::kPcmu;
  int dtmf_pt = -1;
  Leg* peer = nullptr;     // bridge
  // Generated audio (prompts, mixes) goes out with the leg's own RTP stream.
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  bool marker_next = true;
  std::unique_ptr<Player> player;
  std::vector<Leg*> mix;   // non-empty: what it hears is the sum of these legs' audio
  bool capture = false;    // someone (recorder, mixer) needs its received audio
  SampleFifo fifo;
  std::array<std::int16_t, kFrame> frame{};  // this tick's captured audio
  bool dtmf_seen = false;  // an event with dtmf_ts was reported
  std::uint32_t dtmf_ts = 0;
};

struct Recording {
  Leg* customer = nullptr;
  Leg* agent = nullptr;
  bool paused = false;
  std::vector<std::int16_t> chunk;  // interleaved stereo, handed to the writer when full
};

struct ListenSession {
  LegId supervisor, customer, agent;
  ListenMode mode;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

class Worker;

class MediaEngine::Impl {
 public:
  // Defined after Worker: the members' destructors (vector<unique_ptr<Worker>>) need it complete.
  explicit Impl(Options o);
  ~Impl();

  void Emit(const MediaEvent& event) {
    std::function<void(const MediaEvent&)> sink;
    {
      std::lock_guard lock(sink_mu);
      sink = sink_fn;
    }
    if (sink) sink(event);
  }
  void ReleasePort(std::uint16_t port) {
    std::lock_guard lock(mu);
    free_ports.push_back(port);  // reused last: late packets of an old call find no new one
  }
  Worker* WorkerOf(LegId leg);
  Result<LegInfo> Open(int worker_index, bool v6);
  Result<std::shared_ptr<const Prompt>> FindPrompt(const std::string& name);

  Options options;
  SockAddr bind_addr{};   // Options::bind_address (IPv4)
  SockAddr bind_addr6{};  // Options::bind_address6 (IPv6), when set
  bool has_v6 = false;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::unique_ptr<RecordingWriter> writer;

  mutable std::mutex mu;
  std::unordered_map<LegId, int> leg_worker;  // guarded by mu
  std::deque<std::uint16_t> free_ports;       // guarded by mu
  std::unordered_map<std::string, std::shared_ptr<const Prompt>> prompts;  // guarded by mu
  int next_worker = 0;                        // guarded by mu
  LegId next_leg = 1;                         // guarded by mu
  std::atomic<std::uint64_t> ports_exhausted{0};

  std::mutex sink_mu;
  std::function<void(const MediaEvent&)> sink_fn;  // guarded by sink_mu
};

// One epoll loop owning a set of legs. Everything below runs on its thread, except Post.
class Worker {
 public:
  Worker(MediaEngine::Impl* engine, int index) : engine_(engine), index_(index) {
    std::random_device rd;
    rng_.seed(rd());
  }
  ~Worker() {
    Shutdown();
    if (ep_ >= 0) close(ep_);
    if (evfd_ >= 0) close(evfd_);
    if (tfd_ >= 0) close(tfd_);
  }

  Status Init() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep_ < 0 || evfd_ < 0 || tfd_ < 0) {
      return Fail(ErrorCode::kUnavailable, fmt::format("media: {}", std::strerror(errno)));
    }
    itimerspec spec{};
    spec.it_interval.tv_nsec = 20'000'000;
    spec.it_value.tv_nsec = 20'000'000;
    timerfd_settime(tfd_, 0, &spec, nullptr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &evfd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, evfd_, &ev);
    ev.data.ptr = &tfd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
    for (int i = 0; i < kRxBatch; ++i) {
      rx_iov_[i] = {rx_buf_[i].data(), kRxBufSize};
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_name = &rx_addr_[i];
      tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    return {};
  }

  void Post(std::function<void()> fn) {
    bool was_empty;
    {
      std::lock_guard lock(mu_);
      was_empty = queue_.empty();
      queue_.push_back(std::move(fn));
    }
    if (was_empty) {
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(evfd_, &one, sizeof one);
    }
  }

  void Run() {
    std::array<epoll_event, 512> events;
    while (running_) {
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        spdlog::error("media: epoll_wait: {}", std::strerror(errno));
        return;
      }
      now_ = MonotonicMs();
      // Behind: turns far apart (a busy machine, a long turn), or so many sockets ready that
      // one epoll_wait could not return them all. Sockets may then hold several packets each.
      catch_up_ = now_ - last_turn_ >= kCatchUpAfter || n == static_cast<int>(events.size());
      last_turn_ = now_;
      bool commands = false, tick = false;
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &evfd_) {
          commands = true;
        } else if (tag == &tfd_) {
          tick = true;
        } else {
          OnReadable(static_cast<Leg*>(tag));
        }
      }
      // Commands run after the batch: a leg they close is never touched by a stale event.
      if (tick) OnTimer();
      if (commands) RunCommands();
      // Coalescing: a short nap after a round lets packets from many legs gather, so the next
      // epoll_wait returns them together instead of waking the thread once per packet (the
      // wake-up costs more than relaying the packet). Bounded delay, far below a jitter buffer.
      if (coalesce_us_ > 0 && n < static_cast<int>(events.size())) {
        timespec nap{0, coalesce_us_ * 1000L};
        nanosleep(&nap, nullptr);
      }
    }
  }

  const Counters& counters() const { return c_; }

  // ---- commands (media thread) ----

  void AddLeg(std::unique_ptr<Leg> leg) {
    leg->ssrc = static_cast<std::uint32_t>(rng_());
    leg->seq = static_cast<std::uint16_t>(rng_());
    leg->ts = static_cast<std::uint32_t>(rng_());
    leg->last_rx = now_;
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: one recvmmsg per wakeup, no read to EAGAIN
    ev.data.ptr = leg.get();
    epoll_ctl(ep_, EPOLL_CTL_ADD, leg->fd, &ev);
    legs_.emplace(leg->id, std::move(leg));
    c_.legs.Set(legs_.size());
  }

  void SetRemote(LegId id, SockAddr addr, bool addr_ok, Codec codec, int dtmf_pt) {
    Leg* leg = Find(id);
    if (!leg) return;
    if (addr_ok && !FitFamily(&addr, leg->family)) {
      // Nothing can go there from this socket; a packet from the peer would latch (it cannot
      // come either: the socket is of the other family).
      spdlog::warn("media: leg={} is {} and its remote is not", id,
                   leg->family == AF_INET ? "IPv4" : "IPv6");
      addr_ok = false;
    }
    if (addr_ok) {
      leg->dst = addr;
      leg->has_dst = true;
    }
    leg->latched = false;
    Disconnect(leg);
    leg->codec = codec;
    leg->dtmf_pt = dtmf_pt;
    leg->last_rx = MonotonicMs();
    leg->timeout_reported = false;
  }

  void Play(LegId id, std::vector<std::shared_ptr<const Prompt>> sequence, bool loop) {
    Leg* leg = Find(id);
    if (!leg) return;
    auto player = std::make_unique<Player>();
    player->sequence = std::move(sequence);
    player->loop = loop;
    leg->player = std::move(player);
    leg->marker_next = true;
  }

  void StopPlay(LegId id) {
    if (Leg* leg = Find(id)) leg->player.reset();
  }

  void Bridge(LegId a_id, LegId b_id) {
    Leg* a = Find(a_id);
    Leg* b = Find(b_id);
    if (!a || !b || a == b) return;
    Detach(a);
    Detach(b);
    a->peer = b;
    b->peer = a;
    if (Mixed(a_id) || Mixed(b_id)) ApplyMixes();  // a held call resumed: the mix follows
  }

  void Unbridge(LegId id) {
    Leg* leg = Find(id);
    if (!leg) return;
    const LegId peer = leg->peer ? leg->peer->id : 0;
    Detach(leg);
    if (Mixed(id) || Mixed(peer)) ApplyMixes();  // held: see ApplyMixes
  }

  void StartRecording(LegId customer_id, LegId agent_id, std::string path) {
    Leg* customer = Find(customer_id);
    Leg* agent = Find(agent_id);
    if (!customer || !agent || customer == agent) {
      engine_->Emit({MediaEvent::Kind::kRecordingFailed, customer_id, 0, path, "no such leg"});
      return;
    }
    StopRecording(customer_id);
    engine_->writer->Open(customer_id, std::move(path));
    Recording& r = recordings_[customer_id];
    r.customer = customer;
    r.agent = agent;
    r.chunk.reserve(2 * kRecordChunkFrames);
    ApplyMixes();
  }

  void PauseRecording(LegId customer_id, bool paused) {
    auto it = recordings_.find(customer_id);
    if (it != recordings_.end()) it->second.paused = paused;
  }

  void StopRecording(LegId customer_id) {
    auto it = recordings_.find(customer_id);
    if (it == recordings_.end()) return;
    if (!it->second.chunk.empty()) {
      engine_->writer->Append(customer_id, std::move(it->second.chunk));
    }
    engine_->writer->Close(customer_id);
    recordings_.erase(it);
    ApplyMixes();
  }

  void Listen(ListenSession session) {
    if (!Find(session.supervisor) || !Find(session.customer) || !Find(session.agent)) return;
    StopListenQuiet(session.supervisor);
    sessions_.push_back(session);
    ApplyMixes();
  }

  void StopListen(LegId supervisor) {
    StopListenQuiet(supervisor);
    ApplyMixes();
  }

  void CloseLeg(LegId id) {
    auto it = legs_.find(id);
    if (it == legs_.end()) return;
    Leg* leg = it->second.get();
    const std::size_t listening = std::erase_if(sessions_, [&](const ListenSession& s) {
      return s.supervisor == id || s.customer == id || s.agent == id;
    });
    std::vector<LegId> stop;
    for (auto& [cid, r] : recordings_) {
      if (r.customer == leg || r.agent == leg) stop.push_back(cid);
    }
    for (LegId cid : stop) StopRecording(cid);
    Detach(leg);
    epoll_ctl(ep_, EPOLL_CTL_DEL, leg->fd, nullptr);
    close(leg->fd);
    leg->fd = -1;
    engine_->ReleasePort(leg->port);
    legs_.erase(it);
    c_.legs.Set(legs_.size());
    // Only a leg in a listen session is in anyone else's mix (a recording's end recomputed the
    // mixes above). Recomputing on every close walked every leg at each call's end: O(legs) per
    // call, 3 % of the call-setup bench at 700 calls/s and growing with the calls up.
    if (listening > 0) ApplyMixes();
  }

  void Stop() { running_ = false; }

  // After the thread stopped: close what is open (recordings are finished, not lost).
  void Shutdown() {
    std::vector<LegId> ids;
    for (auto& [id, leg] : legs_) ids.push_back(id);
    for (LegId id : ids) CloseLeg(id);
  }

 private:
  Leg* Find(LegId id) {
    auto it = legs_.find(id);
    return it == legs_.end() ? nullptr : it->second.get();
  }

  static void Detach(Leg* leg) {
    if (leg->peer) leg->peer->peer = nullptr;
    leg->peer = nullptr;
  }

  // Whether a listen session names the leg as customer or agent (cheap: sessions are few, and
  // bridging, which every call does, must not walk every leg for nothing).
  bool Mixed(LegId id) const {
    if (id == 0) return false;
    for (const ListenSession& s : sessions_)
      if (s.customer == id || s.agent == id) return true;
    return false;
  }

  void StopListenQuiet(LegId supervisor) {
    std::erase_if(sessions_, [&](const ListenSession& s) { return s.supervisor == supervisor; });
  }

  // Recomputes who hears a mix and whose audio must be captured, from the sessions and
  // recordings (control-plane only).
  void ApplyMixes() {
    for (auto& [id, leg] : legs_) {
      leg->mix.clear();
      leg->capture = false;
    }
    for (const ListenSession& s : sessions_) {
      Leg* sup = Find(s.supervisor);
      Leg* cust = Find(s.customer);
      Leg* agent = Find(s.agent);
      if (!sup || !cust || !agent) continue;
      const bool talks = s.mode == ListenMode::kWhisper || s.mode == ListenMode::kBarge;
      if (cust->peer != agent) {
        // Held (customer and agent unbridged; the customer hears music): the supervisor hears
        // the agent side only and, whispering or barging, still talks to the agent alone. The
        // customer on hold is heard by nobody, as without a supervisor.
        sup->mix = {agent};
        if (talks) agent->mix = {sup};
        continue;
      }
      sup->mix = {cust, agent};
      if (talks) agent->mix = {cust, sup};
      if (s.mode == ListenMode::kBarge) cust->mix = {agent, sup};
    }
    for (auto& [cid, r] : recordings_) {
      r.customer->capture = true;
      r.agent->capture = true;
    }
    for (auto& [id, leg] : legs_) {
      for (Leg* src : leg->mix) src->capture = true;
    }
    for (auto& [id, leg] : legs_) {
      if (!leg->capture) leg->fifo.Clear();
    }
  }

  void RunCommands() {
    std::uint64_t count;
    [[maybe_unused]] ssize_t r = read(evfd_, &count, sizeof count);
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(queue_);
    }
    for (auto& fn : batch) fn();
  }

  void OnReadable(Leg* leg) {
    int n;
    // An error here (ECONNREFUSED: the peer's port answered ICMP unreachable) is consumed by
    // the read; the next round reads normally.
    if (leg->connected && !catch_up_) {
      // The common case: a latched leg, turns a millisecond or so apart, and a phone sends one
      // packet per 20 ms, so one packet is waiting. recv() is the cheapest read (no msghdr to
      // copy in, no source address out: a connected socket only gets its peer's packets), and
      // recvmmsg would spend a second attempt to find the queue empty. A packet left over is
      // reported again by the next epoll_wait (level-triggered), a turn later.
      ssize_t r = recv(leg->fd, rx_buf_[0].data(), kRxBufSize, MSG_DONTWAIT);
      if (r < 0) return;
      rx_msgs_[0].msg_len = static_cast<unsigned>(r);
      rx_addr_[0] = leg->dst;
      n = 1;
    } else {
      // Not latched yet (sources matter), or the thread fell behind (turns far apart: queues
      // hold several packets, read them in one call).
      for (int i = 0; i < kRxBatch; ++i) rx_msgs_[i].msg_hdr.msg_namelen = sizeof(SockAddr);
      n = recvmmsg(leg->fd, rx_msgs_.data(), kRxBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
    }
    c_.packets_in.Add(static_cast<std::uint64_t>(n));
    Leg* peer = leg->peer;
    // The peer hears this leg unless it hears a prompt or a mix.
    const bool relay = peer && !peer->player && peer->mix.empty();
    int out = 0;
    for (int i = 0; i < n; ++i) {
      std::uint8_t* p = rx_buf_[i].data();
      const std::size_t len = rx_msgs_[i].msg_len;
      const SockAddr& src = rx_addr_[i];
      if (rtp::IsRtcp(p, len)) continue;  // no RTCP relay (we do not terminate it either)
      rtp::Packet pkt;
      if (!rtp::Parse(p, len, &pkt)) {
        c_.dropped_malformed.Add();
        continue;
      }
      if (!leg->latched) {
        leg->dst = src;
        leg->has_dst = true;
        leg->latched = true;
      } else if (!SameAddr(src, leg->dst)) {
        // Only seen while unconnected (a connected socket gets nothing from other sources).
        if (now_ - leg->last_rx < kRelatchAfter) {
          c_.dropped_foreign.Add();
          continue;
        }
        leg->dst = src;
        c_.relatches.Add();
      }
      if (!leg->connected) Connect(leg);
      leg->last_rx = now_;
      const bool is_dtmf = leg->dtmf_pt >= 0 && pkt.payload_type == leg->dtmf_pt;
      const bool is_audio = pkt.payload_type == static_cast<std::uint8_t>(leg->codec);
      if (is_dtmf) OnTelephoneEvent(leg, pkt, p);
      if (is_audio && leg->capture) {
        std::array<std::int16_t, 1024> pcm;
        std::size_t k = std::min(pkt.payload_size, pcm.size());
        g711::Decode(p + pkt.payload_offset, k, leg->codec == Codec::kPcma, pcm.data());
        leg->fifo.Push(pcm.data(), k);
      }
      if (!relay) continue;
      if (!peer->has_dst) {
        c_.dropped_no_remote.Add();
        continue;
      }
      if (is_dtmf) {
        if (peer->dtmf_pt < 0) continue;  // the peer did not negotiate telephone-event
        rtp::SetPayloadType(p, static_cast<std::uint8_t>(peer->dtmf_pt));
      } else if (is_audio && peer->codec != leg->codec) {
        if (leg->codec == Codec::kPcmu) {
          g711::UlawToAlaw(p + pkt.payload_offset, pkt.payload_size);
        } else {
          g711::AlawToUlaw(p + pkt.payload_offset, pkt.payload_size);
        }
        rtp::SetPayloadType(p, static_cast<std::uint8_t>(peer->codec));
        c_.packets_transcoded.Add();
      }
      tx_iov_[out] = {p, len};
      tx_msgs_[out].msg_hdr.msg_name = peer->connected ? nullptr : &peer->dst;
      tx_msgs_[out].msg_hdr.msg_namelen = peer->connected ? 0 : AddrLen(peer->dst);
      ++out;
    }
    if (out > 0) {
      // Usually one packet, to a connected peer: send() (no msghdr); one sendmmsg for a burst.
      int sent;
      if (out == 1) {
        const ssize_t r = peer->connected
                              ? send(peer->fd, tx_iov_[0].iov_base, tx_iov_[0].iov_len, MSG_DONTWAIT)
                              : sendto(peer->fd, tx_iov_[0].iov_base, tx_iov_[0].iov_len,
                                       MSG_DONTWAIT, &peer->dst.sa, AddrLen(peer->dst));
        sent = r >= 0 ? 1 : 0;
      } else {
        sent = sendmmsg(peer->fd, tx_msgs_.data(), out, MSG_DONTWAIT);
      }
      if (sent < 0) sent = 0;
      c_.packets_out.Add(static_cast<std::uint64_t>(sent));
      c_.packets_relayed.Add(static_cast<std::uint64_t>(sent));
      if (sent < out) c_.send_errors.Add(static_cast<std::uint64_t>(out - sent));
    }
  }

  // RFC 4733: one event is one RTP timestamp, sent again as it lasts and three times at its
  // end; it is reported once, on its first packet (an IVR reacts without waiting for the end,
  // and a lost end packet loses nothing).
  void OnTelephoneEvent(Leg* leg, const rtp::Packet& pkt, const std::uint8_t* p) {
    rtp::TelephoneEvent ev;
    if (!rtp::ParseTelephoneEvent(p + pkt.payload_offset, pkt.payload_size, &ev)) return;
    char digit = rtp::DtmfChar(ev.event);
    if (!digit) return;
    if (leg->dtmf_seen && leg->dtmf_ts == pkt.timestamp) return;
    leg->dtmf_seen = true;
    leg->dtmf_ts = pkt.timestamp;
    c_.dtmf_digits.Add();
    engine_->Emit({MediaEvent::Kind::kDtmf, leg->id, digit, {}, {}});
  }

  void OnTimer() {
    std::uint64_t expirations = 0;
    if (read(tfd_, &expirations, sizeof expirations) != sizeof expirations) return;
    int frames = static_cast<int>(std::min<std::uint64_t>(expirations, kMaxCatchUpFrames));
    for (int f = 0; f < frames; ++f) TickFrame();
    if (++ticks_ % kTimeoutCheckTicks == 0) CheckTimeouts();
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    c_.cpu_ns.Set(static_cast<std::uint64_t>(cpu.tv_sec) * 1'000'000'000ull +
                  static_cast<std::uint64_t>(cpu.tv_nsec));
  }

  // One 20 ms step of everything generated: capture, recordings, then what legs hear.
  void TickFrame() {
    for (auto& [id, leg] : legs_) {
      if (leg->capture) leg->fifo.PopFrame(leg->frame.data());
    }
    for (auto& [cid, r] : recordings_) {
      for (int i = 0; i < kFrame; ++i) {
        r.chunk.push_back(r.paused ? std::int16_t{0} : r.customer->frame[i]);
        r.chunk.push_back(r.paused ? std::int16_t{0} : r.agent->frame[i]);
      }
      if (r.chunk.size() >= 2 * kRecordChunkFrames) {
        engine_->writer->Append(cid, std::move(r.chunk));
        r.chunk = {};
        r.chunk.reserve(2 * kRecordChunkFrames);
      }
    }
    std::vector<LegId> done;
    for (auto& [id, leg] : legs_) {
      if (leg->player) {
        std::uint8_t payload[kFrame];
        if (!FillFromPlayer(*leg->player, leg->codec == Codec::kPcma, payload)) {
          leg->player.reset();
          done.push_back(id);
        }
        SendGenerated(leg.get(), payload);
      } else if (!leg->mix.empty()) {
        std::array<std::int32_t, kFrame> sum{};
        for (Leg* src : leg->mix) {
          for (int i = 0; i < kFrame; ++i) sum[i] += src->frame[i];
        }
        std::array<std::int16_t, kFrame> pcm;
        for (int i = 0; i < kFrame; ++i) {
          pcm[i] = static_cast<std::int16_t>(std::clamp<std::int32_t>(sum[i], -32768, 32767));
        }
        std::uint8_t payload[kFrame];
        g711::Encode(pcm.data(), kFrame, leg->codec == Codec::kPcma, payload);
        SendGenerated(leg.get(), payload);
      }
    }
    for (LegId id : done) engine_->Emit({MediaEvent::Kind::kPlayDone, id, 0, {}, {}});
  }

  // Copies the next 20 ms; false when the sequence ended in this frame (the rest is silence).
  static bool FillFromPlayer(Player& pl, bool alaw, std::uint8_t* out) {
    std::size_t filled = 0;
    std::size_t empty_prompts = 0;
    while (filled < kFrame) {
      if (pl.index >= pl.sequence.size()) {
        if (!pl.loop || empty_prompts >= pl.sequence.size()) {
          std::memset(out + filled, alaw ? 0xD5 : 0xFF, kFrame - filled);
          return false;
        }
        pl.index = 0;
        pl.offset = 0;
        empty_prompts = 0;
      }
      const std::vector<std::uint8_t>& bytes =
          alaw ? pl.sequence[pl.index]->alaw : pl.sequence[pl.index]->ulaw;
      std::size_t take = std::min(kFrame - filled, bytes.size() - std::min(pl.offset, bytes.size()));
      if (take == 0) ++empty_prompts;
      std::memcpy(out + filled, bytes.data() + pl.offset, take);
      filled += take;
      pl.offset += take;
      if (pl.offset >= bytes.size()) {
        ++pl.index;
        pl.offset = 0;
      }
    }
    return pl.loop || pl.index < pl.sequence.size();
  }

  void SendGenerated(Leg* leg, const std::uint8_t* payload) {
    std::array<std::uint8_t, rtp::kHeaderSize + kFrame> pkt;
    rtp::WriteHeader(pkt.data(), static_cast<std::uint8_t>(leg->codec), leg->marker_next,
                     leg->seq++, leg->ts, leg->ssrc);
    leg->ts += kFrame;
    leg->marker_next = false;
    std::memcpy(pkt.data() + rtp::kHeaderSize, payload, kFrame);
    if (!leg->has_dst) {
      c_.dropped_no_remote.Add();
      return;
    }
    ssize_t n = leg->connected
                    ? send(leg->fd, pkt.data(), pkt.size(), MSG_DONTWAIT)
                    : sendto(leg->fd, pkt.data(), pkt.size(), MSG_DONTWAIT,
                             &leg->dst.sa, AddrLen(leg->dst));
    if (n < 0) {
      c_.send_errors.Add();
    } else {
      c_.packets_out.Add();
    }
  }

  void Connect(Leg* leg) {
    if (connect(leg->fd, &leg->dst.sa, AddrLen(leg->dst)) == 0) {
      leg->connected = true;
    }
  }

  void Disconnect(Leg* leg) {
    if (!leg->connected) return;
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    connect(leg->fd, &unspec, sizeof unspec);
    leg->connected = false;
  }

  void CheckTimeouts() {
    TimeMs now = MonotonicMs();
    // A quiet latched source may have moved (NAT rebinding): accept other sources again.
    for (auto& [id, leg] : legs_) {
      if (leg->connected && now - leg->last_rx >= kRelatchAfter) Disconnect(leg.get());
    }
    DurationMs timeout = engine_->options.rtp_timeout;
    if (timeout <= 0) return;
    for (auto& [id, leg] : legs_) {
      if (leg->timeout_reported || !leg->has_dst) continue;
      if (now - leg->last_rx >= timeout) {
        leg->timeout_reported = true;
        engine_->Emit({MediaEvent::Kind::kRtpTimeout, id, 0, {}, {}});
      }
    }
  }

  MediaEngine::Impl* engine_;
  int index_;
  long coalesce_us_ = engine_->options.coalesce_us;
  int ep_ = -1, evfd_ = -1, tfd_ = -1;
  bool running_ = true;
  TimeMs now_ = MonotonicMs();
  TimeMs last_turn_ = now_;
  bool catch_up_ = true;
  std::uint64_t ticks_ = 0;
  std::mt19937 rng_;
  Counters c_;

  std::mutex mu_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_

  std::unordered_map<LegId, std::unique_ptr<Leg>> legs_;
  std::unordered_map<LegId, Recording> recordings_;  // by customer leg
  std::vector<ListenSession> sessions_;

  std::array<std::array<std::uint8_t, kRxBufSize>, kRxBatch> rx_buf_{};
  std::array<iovec, kRxBatch> rx_iov_{};
  std::array<SockAddr, kRxBatch> rx_addr_{};
  std::array<mmsghdr, kRxBatch> rx_msgs_{};
  std::array<iovec, kRxBatch> tx_iov_{};
  std::array<mmsghdr, kRxBatch> tx_msgs_{};
};

// ---------------------------------------------------------------------------------------------

MediaEngine::Impl::Impl(Options o) : options(std::move(o)) {}

MediaEngine::Impl::~Impl() {
  for (auto& w : workers) w->Post([w = w.get()] { w->Stop(); });
  for (auto& t : threads) t.join();
  workers.clear();  // closes the legs; recordings go to the writer as Close
  writer.reset();   // finishes the files
}

Worker* MediaEngine::Impl::WorkerOf(LegId leg) {
  std::lock_guard lock(mu);
  auto it = leg_worker.find(leg);
  return it == leg_worker.end() ? nullptr : workers[static_cast<std::size_t>(it->second)].get();
}

Result<LegInfo> MediaEngine::Impl::Open(int worker_index, bool v6) {
  if (v6 && !has_v6) return Fail(ErrorCode::kUnavailable, "media: no IPv6 address configured");
  std::unique_lock lock(mu);
  if (worker_index < 0) {
    worker_index = next_worker;
    next_worker = (next_worker + 1) % static_cast<int>(workers.size());
  }
  const sa_family_t family = v6 ? AF_INET6 : AF_INET;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, fmt::format("media: socket: {}", std::strerror(errno)));
  if (v6) {
    int v6only = 1;  // IPv4 peers talk to IPv4 legs
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  std::uint16_t port = 0;
  for (std::size_t tries = free_ports.size(); tries > 0; --tries) {
    std::uint16_t candidate = free_ports.front();
    free_ports.pop_front();
    SockAddr addr = v6 ? bind_addr6 : bind_addr;
    if (v6) {
      addr.v6.sin6_port = htons(candidate);
    } else {
      addr.v4.sin_port = htons(candidate);
    }
    if (bind(fd, &addr.sa, AddrLen(addr)) == 0) {
      port = candidate;
      break;
    }
    free_ports.push_back(candidate);  // taken by another program: try it again later
  }
  if (port == 0) {
    close(fd);
    ports_exhausted.fetch_add(1, std::memory_order_relaxed);
    return Fail(ErrorCode::kUnavailable, "media: no free RTP port");
  }
  int tos = IPTOS_DSCP_EF;  // expedited forwarding: home routers may honour it for voice
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  }
  if (options.socket_buffer_bytes > 0) {
    int b = options.socket_buffer_bytes;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
  }
  auto leg = std::make_unique<Leg>();
  leg->id = next_leg++;
  leg->fd = fd;
  leg->family = family;
  leg->port = port;
  LegInfo info{leg->id, port, v6 ? options.bind_address6 : options.bind_address};
  leg_worker.emplace(leg->id, worker_index);
  Worker* w = workers[static_cast<std::size_t>(worker_index)].get();
  lock.unlock();
  // std::function needs a copyable callable: hand the leg over through a shared holder.
  auto holder = std::make_shared<std::unique_ptr<Leg>>(std::move(leg));
  w->Post([w, holder] { w->AddLeg(std::move(*holder)); });
  return info;
}

Result<std::shared_ptr<const Prompt>> MediaEngine::Impl::FindPrompt(const std::string& name) {
  {
    std::lock_guard lock(mu);
    auto it = prompts.find(name);
    if (it != prompts.end()) return it->second;
  }
  if (name.find('/') == std::string::npos) {
    return Fail(ErrorCode::kNotFound, fmt::format("media: no prompt named \"{}\"", name));
  }
  auto loaded = LoadPromptFile(name);
  if (!loaded) return loaded;
  std::lock_guard lock(mu);
  prompts[name] = *loaded;
  return *loaded;
}

// ---------------------------------------------------------------------------------------------

MediaEngine::MediaEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MediaEngine::~MediaEngine() = default;

Result<std::unique_ptr<MediaEngine>> MediaEngine::Start(Options options) {
  if (options.threads < 1 || options.threads > 64) {
    return Fail(ErrorCode::kBadRequest, "media: threads must be 1..64");
  }
  if (options.port_min < 1024 || options.port_max <= options.port_min + 1) {
    return Fail(ErrorCode::kBadRequest, "media: port range must be within 1024..65535 with 2 ports at least");
  }
  auto impl = std::make_unique<Impl>(options);
  if (!ToSockaddr(options.bind_address, 0, &impl->bind_addr) ||
      impl->bind_addr.sa.sa_family != AF_INET) {
    return Fail(ErrorCode::kBadRequest,
                fmt::format("media: bind address \"{}\" is not IPv4", options.bind_address));
  }
  if (!options.bind_address6.empty()) {
    if (!ToSockaddr(options.bind_address6, 0, &impl->bind_addr6) ||
        impl->bind_addr6.sa.sa_family != AF_INET6) {
      return Fail(ErrorCode::kBadRequest,
                  fmt::format("media: bind address \"{}\" is not IPv6", options.bind_address6));
    }
    impl->has_v6 = true;
  }
  for (std::uint32_t p = (options.port_min + 1u) & ~1u; p + 1 < options.port_max + 1u; p += 2) {
    impl->free_ports.push_back(static_cast<std::uint16_t>(p));
  }
  if (!options.prompt_dir.empty()) {
    if (options.generate_prompts) {
      if (Status s = EnsureDefaultPrompts(options.prompt_dir); !s) {
        // Not fatal: calls still bridge; Play of a missing prompt fails with its name.
        spdlog::warn("media: default prompts: {}", s.error().message);
      }
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(options.prompt_dir, ec)) {
      if (entry.path().extension() != ".wav") continue;
      auto prompt = LoadPromptFile(entry.path().string());
      if (!prompt) {
        spdlog::warn("media: {}", prompt.error().message);
        continue;
      }
      impl->prompts[entry.path().stem().string()] = *prompt;
    }
  }
  Impl* raw = impl.get();
  impl->writer = std::make_unique<RecordingWriter>(
      [raw](std::uint64_t id, const std::string& path, bool ok, const std::string& detail) {
        raw->Emit({ok ? MediaEvent::Kind::kRecordingDone : MediaEvent::Kind::kRecordingFailed,
                   id, 0, path, detail});
      });
  for (int i = 0; i < options.threads; ++i) {
    auto w = std::make_unique<Worker>(raw, i);
    if (Status s = w->Init(); !s) return std::unexpected(s.error());
    impl->workers.push_back(std::move(w));
  }
  for (auto& w : impl->workers) {
    impl->threads.emplace_back([w = w.get(), i = impl->threads.size()] {
      std::string name = fmt::format("media/{}", i);  // seen in top -H and perf
      pthread_setname_np(pthread_self(), name.c_str());
      w->Run();
    });
  }
  return std::unique_ptr<MediaEngine>(new MediaEngine(std::move(impl)));
}

Result<LegInfo> MediaEngine::OpenLeg(bool ipv6) { return impl_->Open(-1, ipv6); }

Result<LegInfo> MediaEngine::OpenLegNear(LegId near, bool ipv6) {
  int index = -1;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->leg_worker.find(near);
    if (it != impl_->leg_worker.end()) index = it->second;
  }
  return impl_->Open(index, ipv6);
}

void MediaEngine::SetRemote(LegId leg, Endpoint remote, Codec codec, int dtmf_pt) {
  Worker* w = impl_->WorkerOf(leg);
  if (!w) return;
  SockAddr addr{};
  bool ok = remote.port != 0 && ToSockaddr(remote.address, remote.port, &addr);
  if (!ok) {
    // Still usable: latching finds the address from the first packet.
    spdlog::warn("media: leg={} remote \"{}:{}\" is not an IP endpoint", leg, remote.address,
                 remote.port);
  }
  // A DTMF payload type equal to the audio's would swallow the audio: refused as none.
  if (dtmf_pt < 0 || dtmf_pt > 127 || dtmf_pt == static_cast<int>(codec)) dtmf_pt = -1;
  w->Post([w, leg, addr, ok, codec, dtmf_pt] { w->SetRemote(leg, addr, ok, codec, dtmf_pt); });
}

Status MediaEngine::Play(LegId leg, std::vector<PromptRef> sequence, bool loop) {
  std::vector<std::shared_ptr<const Prompt>> prompts;
  for (const PromptRef& ref : sequence) {
    auto p = impl_->FindPrompt(ref.name);
    if (!p) return std::unexpected(p.error());
    prompts.push_back(*p);
  }
  Worker* w = impl_->WorkerOf(leg);
  if (!w) return Fail(ErrorCode::kNotFound, fmt::format("media: no leg {}", leg));
  auto holder = std::make_shared<std::vector<std::shared_ptr<const Prompt>>>(std::move(prompts));
  w->Post([w, leg, holder, loop] { w->Play(leg, std::move(*holder), loop); });
  return {};
}

void MediaEngine::StopPlay(LegId leg) {
  if (Worker* w = impl_->WorkerOf(leg)) w->Post([w, leg] { w->StopPlay(leg); });
}

std::vector<PromptRef> MediaEngine::PositionAnnouncement(int position) {
  std::vector<PromptRef> refs;
  for (std::string& name : PositionPromptNames(position)) refs.push_back({std::move(name)});
  return refs;
}

namespace {
// The worker of both legs, or null (logged) when they live on different threads.
Worker* CommonWorker(MediaEngine::Impl* impl, std::initializer_list<LegId> legs, const char* what) {
  Worker* common = nullptr;
  for (LegId leg : legs) {
    Worker* w = impl->WorkerOf(leg);
    if (!w) return nullptr;
    if (common && w != common) {
      spdlog::warn("media: {} refused: legs on different media threads (use OpenLegNear)", what);
      return nullptr;
    }
    common = w;
  }
  return common;
}
}  // namespace

void MediaEngine::Bridge(LegId a, LegId b) {
  if (Worker* w = CommonWorker(impl_.get(), {a, b}, "bridge")) {
    w->Post([w, a, b] { w->Bridge(a, b); });
  }
}

void MediaEngine::Unbridge(LegId a) {
  if (Worker* w = impl_->WorkerOf(a)) w->Post([w, a] { w->Unbridge(a); });
}

void MediaEngine::StartRecording(LegId customer, LegId agent, std::string path) {
  Worker* w = CommonWorker(impl_.get(), {customer, agent}, "recording");
  if (!w) {
    impl_->Emit({MediaEvent::Kind::kRecordingFailed, customer, 0, path, "legs not recordable together"});
    return;
  }
  auto p = std::make_shared<std::string>(std::move(path));
  w->Post([w, customer, agent, p] { w->StartRecording(customer, agent, std::move(*p)); });
}

void MediaEngine::PauseRecording(LegId customer, bool paused) {
  if (Worker* w = impl_->WorkerOf(customer)) {
    w->Post([w, customer, paused] { w->PauseRecording(customer, paused); });
  }
}

void MediaEngine::StopRecording(LegId customer) {
  if (Worker* w = impl_->WorkerOf(customer)) w->Post([w, customer] { w->StopRecording(customer); });
}

void MediaEngine::Listen(LegId supervisor, LegId customer, LegId agent, ListenMode mode) {
  if (Worker* w = CommonWorker(impl_.get(), {supervisor, customer, agent}, "listen")) {
    ListenSession s{supervisor, customer, agent, mode};
    w->Post([w, s] { w->Listen(s); });
  }
}

void MediaEngine::StopListen(LegId supervisor) {
  if (Worker* w = impl_->WorkerOf(supervisor)) {
    w->Post([w, supervisor] { w->StopListen(supervisor); });
  }
}

void MediaEngine::CloseLeg(LegId leg) {
  Worker* w = nullptr;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->leg_worker.find(leg);
    if (it == impl_->leg_worker.end()) return;
    w = impl_->workers[static_cast<std::size_t>(it->second)].get();
    impl_->leg_worker.erase(it);
  }
  w->Post([w, leg] { w->CloseLeg(leg); });
}

void MediaEngine::SetSink(std::function<void(const MediaEvent&)> sink) {
  std::lock_guard lock(impl_->sink_mu);
  impl_->sink_fn = std::move(sink);
}

Status MediaEngine::LoadPrompt(const std::string& name, const std::string& path) {
  auto p = LoadPromptFile(path);
  if (!p) return std::unexpected(p.error());
  std::lock_guard lock(impl_->mu);
  impl_->prompts[name] = *p;
  return {};
}

bool MediaEngine::HasPrompt(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  return impl_->prompts.contains(name);
}

bool MediaEngine::has_ipv6() const { return impl_->has_v6; }

const std::string& MediaEngine::address(bool ipv6) const {
  return ipv6 ? impl_->options.bind_address6 : impl_->options.bind_address;
}

Stats MediaEngine::stats() const {
  Stats s;
  for (const auto& w : impl_->workers) {
    const Counters& c = w->counters();
    s.legs += c.legs.Get();
    s.packets_in += c.packets_in.Get();
    s.packets_out += c.packets_out.Get();
    s.packets_relayed += c.packets_relayed.Get();
    s.packets_transcoded += c.packets_transcoded.Get();
    s.dropped_no_remote += c.dropped_no_remote.Get();
    s.dropped_foreign += c.dropped_foreign.Get();
    s.dropped_malformed += c.dropped_malformed.Get();
    s.send_errors += c.send_errors.Get();
    s.relatches += c.relatches.Get();
    s.dtmf_digits += c.dtmf_digits.Get();
    s.cpu_ns += c.cpu_ns.Get();
  }
  s.ports_exhausted = impl_->ports_exhausted.load(std::memory_order_relaxed);
  return s;
}

}  // namespace homeline::media
