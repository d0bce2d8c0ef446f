// The relay's candidate system calls, one 172-byte RTP packet at a time over loopback, timed
// on this thread's CPU clock: what a read and a send of one packet cost with each call, on a
// dual-stack (AF_INET6, v4-mapped) and an AF_INET socket, and what an epoll registration of
// the sending socket adds (the write-space wake-up every send triggers). The calls alternate
// within each round, so a loaded machine slows all of them alike; the medians of the rounds
// are printed. docs/decisions.md (51) uses these figures.
//
// Usage: bench_media_syscalls [--packets N] [--rounds R]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace {

double CpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// Two connected UDP sockets on loopback: IPv4, or IPv6 sockets on v4-mapped addresses.
struct Pair {
  int a = -1, b = -1;
  explicit Pair(bool dual_stack) {
    const int family = dual_stack ? AF_INET6 : AF_INET;
    a = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    b = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_storage sa{}, aa{}, ba{};
    socklen_t len;
    if (dual_stack) {
      int off = 0;
      setsockopt(a, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      setsockopt(b, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&sa);
      s6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6->sin6_addr);
      len = sizeof(sockaddr_in6);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&sa);
      s4->sin_family = AF_INET;
      s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    }
    bind(a, reinterpret_cast<sockaddr*>(&sa), len);
    bind(b, reinterpret_cast<sockaddr*>(&sa), len);
    socklen_t l = sizeof aa;
    getsockname(a, reinterpret_cast<sockaddr*>(&aa), &l);
    l = sizeof ba;
    getsockname(b, reinterpret_cast<sockaddr*>(&ba), &l);
    connect(a, reinterpret_cast<sockaddr*>(&ba), len);
    connect(b, reinterpret_cast<sockaddr*>(&aa), len);
  }
  ~Pair() {
    close(a);
    close(b);
  }
};

}  // namespace

int main(int argc, char** argv) {
  int packets = 50000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--packets") packets = std::stoi(argv[i + 1]);
    else if (k == "--rounds") rounds = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  Pair v4(false), dual(true), v4_polled(false);
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;  // as the relay registers its legs: readable only
  epoll_ctl(ep, EPOLL_CTL_ADD, v4_polled.a, &ev);

  std::vector<unsigned char> pkt(172, 0x80), buf(2048);
  std::vector<mmsghdr> msgs(16);
  std::vector<iovec> iov(16);
  std::vector<sockaddr_storage> names(16);
  for (int i = 0; i < 16; ++i) {
    iov[static_cast<std::size_t>(i)] = {buf.data(), buf.size()};
    msgs[static_cast<std::size_t>(i)] = {};
    msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<std::size_t>(i)];
    msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iovlen = 1;
    msgs[static_cast<std::size_t>(i)].msg_hdr.msg_name = &names[static_cast<std::size_t>(i)];
  }
  auto recvmmsg_one = [&](int fd) {
    for (auto& m : msgs) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    return recvmmsg(fd, msgs.data(), 16, MSG_DONTWAIT, nullptr);
  };
  auto sendmsg_one = [&](int fd) {
    iovec v{pkt.data(), pkt.size()};
    msghdr h{};
    h.msg_iov = &v;
    h.msg_iovlen = 1;
    return sendmsg(fd, &h, MSG_DONTWAIT);
  };

  // name -> per-round average ns
  std::map<std::string, std::vector<double>> figures;
  for (int r = 0; r < rounds; ++r) {
    std::map<std::string, double> sum;
    for (int i = 0; i < packets; ++i) {
      double t0 = CpuNs();
      sendmsg_one(dual.a);
      double t1 = CpuNs();
      recvmmsg_one(dual.b);
      double t2 = CpuNs();
      sendmsg_one(v4.a);
      double t3 = CpuNs();
      recvmmsg_one(v4.b);
      double t4 = CpuNs();
      send(v4.a, pkt.data(), pkt.size(), MSG_DONTWAIT);
      double t5 = CpuNs();
      recv(v4.b, buf.data(), buf.size(), MSG_DONTWAIT);
      double t6 = CpuNs();
      send(v4_polled.a, pkt.data(), pkt.size(), MSG_DONTWAIT);
      double t7 = CpuNs();
      recv(v4_polled.b, buf.data(), buf.size(), MSG_DONTWAIT);
      double t8 = CpuNs();
      double t9 = CpuNs();  // the clock read itself, to subtract
      sum["dual-stack sendmsg"] += t1 - t0;
      sum["dual-stack recvmmsg"] += t2 - t1;
      sum["AF_INET sendmsg"] += t3 - t2;
      sum["AF_INET recvmmsg"] += t4 - t3;
      sum["AF_INET send"] += t5 - t4;
      sum["AF_INET recv"] += t6 - t5;
      sum["AF_INET send, sender in epoll"] += t7 - t6;
      sum["clock read"] += t9 - t8;
    }
    const double clock = sum["clock read"] / packets;
    for (auto& [name, total] : sum) {
      figures[name].push_back(total / packets - (name == "clock read" ? 0 : clock));
    }
  }
  std::printf("one 172-byte packet over loopback, ns of CPU per call (median of %d rounds of %d; "
              "a send includes the delivery into the receiving socket):\n", rounds, packets);
  for (auto& [name, v] : figures) {
    std::sort(v.begin(), v.end());
    std::printf("  %-32s %6.0f\n", name.c_str(), v[v.size() / 2]);
  }
  close(ep);
  return 0;
}
