// SipStack: the SIP thread runs posted work in order, binds UDP and TCP on one port, reports a
// taken port, and stops cleanly (ASan checks libre's memory is released).
#include "adapters/sip/sip_stack.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace homeline::sip {
namespace {

std::unique_ptr<SipStack> StartOnFreePort() {
  StackOptions o;
  o.port = 0;
  auto s = SipStack::Start(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

// Waits until fn() is true or a few seconds pass.
template <typename F>
bool Eventually(F fn) {
  for (int i = 0; i < 500; ++i) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(SipStack, PostRunsOnTheSipThreadInOrder) {
  auto stack = StartOnFreePort();
  ASSERT_TRUE(stack);
  EXPECT_NE(stack->port(), 0);
  EXPECT_FALSE(stack->OnSipThread());
  std::mutex mu;
  std::vector<int> seen;
  std::atomic<int> off_thread{0};
  std::atomic<bool> had_sip{true};
  auto poster = [&](int base) {
    for (int i = 0; i < 1000; ++i) {
      stack->Post([&, v = base + i] {
        if (!stack->OnSipThread()) ++off_thread;
        if (stack->sip() == nullptr || stack->sessions() == nullptr) had_sip = false;
        std::lock_guard lk(mu);
        seen.push_back(v);
      });
    }
  };
  std::thread a(poster, 0), b(poster, 10000);
  a.join();
  b.join();
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lk(mu);
    return seen.size() == 2000;
  }));
  EXPECT_EQ(off_thread.load(), 0);
  EXPECT_TRUE(had_sip.load());
  // Each poster's work ran in the order it was posted.
  int last_a = -1, last_b = 9999;
  for (int v : seen) {
    int& last = v < 10000 ? last_a : last_b;
    EXPECT_EQ(v, last + 1);
    last = v;
  }
}

TEST(SipStack, StopRunsHooksAndDropsLaterPosts) {
  auto stack = StartOnFreePort();
  ASSERT_TRUE(stack);
  std::atomic<int> hooks{0};
  std::atomic<bool> added{false};
  stack->Post([&] {
    stack->AddShutdownHook([&] { hooks += 1; });
    stack->AddShutdownHook([&] { hooks += 10; });
    added = true;
  });
  ASSERT_TRUE(Eventually([&] { return added.load(); }));
  stack->Stop();
  EXPECT_EQ(hooks.load(), 11);
  std::atomic<bool> ran{false};
  stack->Post([&] { ran = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(ran.load());
  stack->Stop();  // idempotent
}

TEST(SipStack, TakenPortIsUnavailableAndFreedPortReusable) {
  auto first = StartOnFreePort();
  ASSERT_TRUE(first);
  const std::uint16_t port = first->port();
  // Something else holds the UDP port: a second start fails with a clear error.
  first->Stop();
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  StackOptions o;
  o.port = port;
  auto taken = SipStack::Start(o);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(taken.error().message.find("cannot listen"), std::string::npos);
  ::close(fd);
  auto again = SipStack::Start(o);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ((*again)->port(), port);
}

TEST(SipStack, BadAddressIsRefused) {
  StackOptions o;
  o.host = "not an address";
  auto s = SipStack::Start(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace homeline::sip
