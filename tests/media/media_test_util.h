#pragma once
// Helpers for the media tests: a UDP peer on 127.0.0.1 (a phone or a trunk), RTP packets, and
// an engine on a port range of its own (tests run in parallel).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/media/media_engine.h"
#include "adapters/media/rtp.h"

namespace homeline::media::testing {

struct Received {
  std::vector<std::uint8_t> bytes;
  std::uint16_t from_port = 0;
  rtp::Packet rtp;
  std::vector<std::uint8_t> payload() const {
    return {bytes.begin() + static_cast<long>(rtp.payload_offset),
            bytes.begin() + static_cast<long>(rtp.payload_offset + rtp.payload_size)};
  }
};

class Peer {
 public:
  // A phone on 127.0.0.1, or on ::1 when ipv6 (an IPv6-only socket).
  explicit Peer(bool ipv6 = false) : ipv6_(ipv6) {
    fd_ = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (ipv6) {
      int on = 1;
      setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    sockaddr_storage a = Loopback(0);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), Len());
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = PortOf(a);
  }
  ~Peer() { close(fd_); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  std::uint16_t port() const { return port_; }
  Endpoint endpoint() const { return {ipv6_ ? "::1" : "127.0.0.1", port_}; }

  void SendTo(std::uint16_t port, const std::vector<std::uint8_t>& bytes) {
    sockaddr_storage a = Loopback(port);
    sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), Len());
  }

  // The next RTP packet within timeout_ms, if any.
  std::optional<Received> Receive(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
    Received r;
    r.bytes.resize(2048);
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd_, r.bytes.data(), r.bytes.size(), 0,
                         reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    r.bytes.resize(static_cast<std::size_t>(n));
    r.from_port = PortOf(from);
    if (!rtp::Parse(r.bytes.data(), r.bytes.size(), &r.rtp)) return std::nullopt;
    return r;
  }

  void Drain() {
    while (Receive(0)) {
    }
  }

 private:
  sockaddr_storage Loopback(std::uint16_t port) const {
    sockaddr_storage s{};
    if (ipv6_) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&s);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      a->sin6_port = htons(port);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&s);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a->sin_port = htons(port);
    }
    return s;
  }
  socklen_t Len() const { return ipv6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }
  static std::uint16_t PortOf(const sockaddr_storage& s) {
    return ntohs(s.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&s)->sin6_port
                                         : reinterpret_cast<const sockaddr_in*>(&s)->sin_port);
  }

  bool ipv6_ = false;
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

inline std::vector<std::uint8_t> RtpPacket(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts,
                                           std::uint32_t ssrc,
                                           const std::vector<std::uint8_t>& payload,
                                           bool marker = false) {
  std::vector<std::uint8_t> p(rtp::kHeaderSize + payload.size());
  rtp::WriteHeader(p.data(), pt, marker, seq, ts, ssrc);
  std::copy(payload.begin(), payload.end(), p.begin() + rtp::kHeaderSize);
  return p;
}

// Options on a port range unlikely to meet another test process's.
inline Options TestOptions() {
  Options o;
  // Disjoint ranges for processes whose pids differ by less than 800 (ctest -j runs them).
  std::uint16_t base = static_cast<std::uint16_t>(30000 + (getpid() % 800) * 40);
  o.port_min = base;
  o.port_max = static_cast<std::uint16_t>(base + 40);
  return o;
}

// Collects MediaEvents from the engine's threads.
class EventLog {
 public:
  std::function<void(const MediaEvent&)> Sink() {
    return [this](const MediaEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  // Waits for an event of `kind` (optionally on `leg`) and removes it.
  std::optional<MediaEvent> Wait(MediaEvent::Kind kind, int timeout_ms, LegId leg = 0) {
    std::unique_lock lock(mu_);
    std::optional<MediaEvent> found;
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (it->kind == kind && (leg == 0 || it->leg == leg)) {
          found = *it;
          events_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t Count(MediaEvent::Kind kind) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& e : events_) n += e.kind == kind;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<MediaEvent> events_;
};

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("homeline_media_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

inline std::vector<std::int16_t> Tone(double hz, int samples, int rate, double amplitude = 8000) {
  std::vector<std::int16_t> v(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    v[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * hz * i / rate)));
  }
  return v;
}

}  // namespace homeline::media::testing
