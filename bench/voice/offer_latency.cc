// Latency from an agent becoming available to the INVITE for that agent's phone leaving
// Homeline (issue 3: p99 <= 5 ms). The server's own parts, in one process: core::Engine and
// sip::VoiceService on this (the engine) thread, sip::SipStack + sip::Calls on the SIP thread,
// media::MediaEngine for the legs. The bench plays the trunk and the phone on UDP sockets.
//
// Per call: the trunk sends an INVITE, gets 200, ACKs; the call waits in the queue. Then
// t0 = Engine::SetPresence(available) on the engine thread; the outbox goes to VoiceService
// (as the server's loop does after every task), which orders the ring; t1 = the phone socket
// receives the INVITE. The phone answers 486, the agent goes on break, the trunk hangs up.
// The HTTP request that sets the presence in the server is not included (it adds its parse
// and routing before SetPresence; see bench/api for those figures).
//
// Usage: bench_voice_offer [--calls N]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bench_setup.h"

using namespace homeline;
using bench::Clock;
using bench::WallMs;

namespace {

int UdpSocket(std::uint16_t* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

void SendTo(int fd, std::uint16_t port, const std::string& text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
}

// Receives one datagram within timeout_ms; "" on timeout. Remembers the sender's port.
std::string Recv(int fd, int timeout_ms, std::uint16_t* from_port = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return "";
  char buf[65536];
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&a), &len);
  if (from_port) *from_port = ntohs(a.sin_port);
  return n > 0 ? std::string(buf, n) : "";
}

std::string Header(const std::string& msg, const std::string& name) {
  std::size_t pos = 0;
  while ((pos = msg.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (msg.compare(pos, name.size() + 1, name + ":") == 0) {
      std::size_t end = msg.find("\r\n", pos);
      std::size_t v = pos + name.size() + 1;
      while (v < end && msg[v] == ' ') ++v;
      return msg.substr(v, end - v);
    }
  }
  return "";
}

// The lines of a request a response copies (RFC 3261 8.2.6.2).
std::string ResponseTo(const std::string& req, const std::string& status, const std::string& to_tag) {
  std::string out = "SIP/2.0 " + status + "\r\n";
  std::size_t pos = req.find("\r\n") + 2;
  while (pos < req.size()) {
    std::size_t end = req.find("\r\n", pos);
    if (end == pos) break;
    std::string line = req.substr(pos, end - pos);
    for (const char* h : {"Via:", "From:", "Call-ID:", "CSeq:", "Record-Route:"})
      if (line.rfind(h, 0) == 0) out += line + "\r\n";
    if (line.rfind("To:", 0) == 0) out += line + (line.find(";tag=") == std::string::npos ? ";tag=" + to_tag : "") + "\r\n";
    pos = end + 2;
  }
  return out + "Content-Length: 0\r\n\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 2000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--calls") calls = std::atoi(argv[i + 1]);
  spdlog::set_level(spdlog::level::err);

  core::Engine engine;
  engine.SetTime(WallMs());
  const auto [tenant, queue] = bench::SetUpTenant(engine, std::nullopt);
  core::User u;
  u.login = "alice";
  u.name = "Alice";
  const core::UserId alice = *engine.CreateUser(u);
  (void)engine.SetMember(tenant, alice, core::Membership{});
  engine.TakeOutbox();

  auto stacks = bench::StartStacks(0);
  if (!stacks) return 1;
  auto& stack = stacks->sip;
  auto& media = stacks->media;
  std::uint16_t phone_port = 0, trunk_port = 0;
  const int phone = UdpSocket(&phone_port);
  const int trunk_fd = UdpSocket(&trunk_port);
  const std::string contact = fmt::format("sip:alice@127.0.0.1:{}", phone_port);
  const std::string route = fmt::format("sip:127.0.0.1:{}", phone_port);
  bench::Inbox inbox;
  sip::Calls calls_sip(*stack, *media, inbox, [&](const std::string&) {
    return std::optional<sip::AgentBinding>(sip::AgentBinding{contact, route});
  });
  sip::VoiceService voice(engine, calls_sip, sip::NumberRouter(""));
  inbox.voice = &voice;
  calls_sip.Install();
  const std::uint16_t sip_port = stack->port();

  // Runs posted happenings (and the outbox after each) until pred() or the timeout.
  auto pump = [&](const std::function<bool()>& pred, int timeout_ms) {
    const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred())
      if (!inbox.RunPosted(engine, end)) return false;
    return true;
  };

  std::vector<double> us;
  us.reserve(calls);
  int failures = 0;
  for (int i = 0; i < calls; ++i) {
    const std::string call_id = fmt::format("bench-{}@127.0.0.1", i);
    const std::string via = fmt::format("Via: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK{}x;rport\r\n", trunk_port, i);
    const std::string from = "From: <sip:15557654321@127.0.0.1>;tag=t" + std::to_string(i) + "\r\n";
    const std::string ruri = fmt::format("sip:+15550100@127.0.0.1:{}", sip_port);
    const std::string sdp = fmt::format(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio {} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n", 40000 + (i % 1000) * 2);
    SendTo(trunk_fd, sip_port, fmt::format(
        "INVITE {} SIP/2.0\r\n{}{}To: <{}>\r\nCall-ID: {}\r\nCSeq: 1 INVITE\r\n"
        "Contact: <sip:c@127.0.0.1:{}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"
        "Content-Length: {}\r\n\r\n{}", ruri, via, from, ruri, call_id, trunk_port, sdp.size(), sdp));
    // The engine decides on the call (posted), then the 200 comes.
    std::string to;
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (to.empty() && Clock::now() < until) {
      pump([&] { return false; }, 2);
      std::string m = Recv(trunk_fd, 1);
      if (m.rfind("SIP/2.0 200", 0) == 0) to = Header(m, "To");
    }
    if (to.empty()) {
      ++failures;
      continue;
    }
    SendTo(trunk_fd, sip_port, fmt::format("ACK {} SIP/2.0\r\n{}{}To: {}\r\nCall-ID: {}\r\nCSeq: 1 ACK\r\n"
                                           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                                           ruri, via, from, to, call_id));
    // The agent becomes available: the measured path.
    engine.SetTime(WallMs());
    const auto t0 = Clock::now();
    (void)engine.SetPresence(alice, tenant, core::Presence::kAvailable, "");
    voice.Observe(engine.TakeOutbox());
    std::string invite = Recv(phone, 2000);
    const auto t1 = Clock::now();
    if (invite.rfind("INVITE ", 0) != 0) {
      ++failures;
    } else {
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      SendTo(phone, sip_port, ResponseTo(invite, "486 Busy Here", "p" + std::to_string(i)));
    }
    pump([&] { return engine.AgentView(alice).activity != core::Activity::kReserved; }, 2000);
    (void)engine.SetPresence(alice, tenant, core::Presence::kBreak, "break");
    voice.Observe(engine.TakeOutbox());
    SendTo(trunk_fd, sip_port, fmt::format("BYE {} SIP/2.0\r\n{}{}To: {}\r\nCall-ID: {}\r\nCSeq: 2 BYE\r\n"
                                           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                                           ruri, via, from, to, call_id));
    pump([&] { return voice.live_calls() == 0; }, 2000);
    while (!Recv(phone, 0).empty()) {}  // ACK for the 486, stray retransmissions
    while (!Recv(trunk_fd, 0).empty()) {}
  }
  stack->Stop();
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us.empty() ? 0.0 : us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))]; };
  std::printf("offer_latency calls=%zu failures=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
              us.size(), failures, pct(0.50), pct(0.90), pct(0.99), us.empty() ? 0.0 : us.back());
  close(phone);
  close(trunk_fd);
  return failures == 0 ? 0 : 2;
}
