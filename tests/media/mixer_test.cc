// Supervisor listen, whisper and barge: what each of the three parties hears, checked by value
// (each party sends a constant level; a mix is the sum of the levels).

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "adapters/media/g711.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::Peer;
using testing::RtpPacket;

std::int16_t G711(int v) {
  return g711::UlawToLinear(g711::LinearToUlaw(static_cast<std::int16_t>(v)));
}

struct Party {
  Peer peer;
  LegInfo leg;
  std::int16_t level;
  std::uint16_t seq = 0;
  std::vector<int> heard;  // first sample of each packet received, decoded
};

class MediaMixer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = MediaEngine::Start(testing::TestOptions());
    ASSERT_TRUE(e.has_value());
    engine_ = std::move(*e);
    for (Party* p : {&customer_, &agent_, &supervisor_}) {
      p->leg = *engine_->OpenLeg();
      engine_->SetRemote(p->leg.id, p->peer.endpoint(), Codec::kPcmu, -1);
    }
    customer_.level = 1000;
    agent_.level = 3000;
    supervisor_.level = 6000;
    engine_->Bridge(customer_.leg.id, agent_.leg.id);
  }

  // 0.6 s of everyone talking; keeps what each heard in the last 0.3 s.
  void Talk() {
    auto next = std::chrono::steady_clock::now();
    for (Party* p : {&customer_, &agent_, &supervisor_}) p->heard.clear();
    for (int i = 0; i < 30; ++i) {
      for (Party* p : {&customer_, &agent_, &supervisor_}) {
        std::vector<std::uint8_t> payload(160, g711::LinearToUlaw(p->level));
        p->peer.SendTo(p->leg.local_port, RtpPacket(0, p->seq, p->seq * 160u, p->leg.local_port, payload));
        ++p->seq;
      }
      next += std::chrono::milliseconds(20);
      while (std::chrono::steady_clock::now() < next) {
        for (Party* p : {&customer_, &agent_, &supervisor_}) {
          while (auto r = p->peer.Receive(0)) {
            if (i >= 15) p->heard.push_back(g711::UlawToLinear(r->payload().at(0)));
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  // The level heard most often (frames where one side's packet came late carry only the other).
  static int Mostly(const Party& p) {
    std::map<int, int> counts;
    for (int v : p.heard) counts[v]++;
    int best = -99999, n = 0;
    for (auto [v, c] : counts) {
      if (c > n) {
        best = v;
        n = c;
      }
    }
    return best;
  }

  std::unique_ptr<MediaEngine> engine_;
  Party customer_, agent_, supervisor_;
};

TEST_F(MediaMixer, ListenWhisperBarge) {
  const int c = G711(1000), a = G711(3000), s = G711(6000);
  Talk();  // just the bridge
  EXPECT_EQ(Mostly(customer_), a);
  EXPECT_EQ(Mostly(agent_), c);
  EXPECT_TRUE(supervisor_.heard.empty());

  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kListen);
  Talk();
  EXPECT_EQ(Mostly(supervisor_), G711(c + a));
  EXPECT_EQ(Mostly(customer_), a);  // nobody hears the supervisor
  EXPECT_EQ(Mostly(agent_), c);

  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kWhisper);
  Talk();
  EXPECT_EQ(Mostly(supervisor_), G711(c + a));
  EXPECT_EQ(Mostly(agent_), G711(c + s));  // the agent hears the coach
  EXPECT_EQ(Mostly(customer_), a);         // the customer does not

  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kBarge);
  Talk();
  EXPECT_EQ(Mostly(supervisor_), G711(c + a));
  EXPECT_EQ(Mostly(agent_), G711(c + s));
  EXPECT_EQ(Mostly(customer_), G711(a + s));

  engine_->StopListen(supervisor_.leg.id);
  Talk();
  EXPECT_EQ(Mostly(customer_), a);
  EXPECT_EQ(Mostly(agent_), c);
  EXPECT_TRUE(supervisor_.heard.empty());

  // The supervisor hanging up ends the session the same way.
  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kBarge);
  engine_->CloseLeg(supervisor_.leg.id);
  Talk();
  EXPECT_EQ(Mostly(customer_), a);
  EXPECT_EQ(Mostly(agent_), c);
}

// Hold (the call unbridged): the supervisor hears the agent only and a whisper or barge
// reaches the agent only; the customer, unbridged, hears neither. Resume brings the mix back.
TEST_F(MediaMixer, HoldKeepsTheCustomerOut) {
  const int c = G711(1000), a = G711(3000), s = G711(6000);
  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kBarge);
  engine_->Unbridge(customer_.leg.id);
  Talk();
  EXPECT_EQ(Mostly(supervisor_), a);
  EXPECT_EQ(Mostly(agent_), s);
  EXPECT_TRUE(customer_.heard.empty());

  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kListen);
  Talk();
  EXPECT_EQ(Mostly(supervisor_), a);
  EXPECT_TRUE(agent_.heard.empty());
  EXPECT_TRUE(customer_.heard.empty());

  engine_->Listen(supervisor_.leg.id, customer_.leg.id, agent_.leg.id, ListenMode::kBarge);
  engine_->Bridge(customer_.leg.id, agent_.leg.id);  // resume
  Talk();
  EXPECT_EQ(Mostly(supervisor_), G711(c + a));
  EXPECT_EQ(Mostly(agent_), G711(c + s));
  EXPECT_EQ(Mostly(customer_), G711(a + s));
}

}  // namespace
}  // namespace homeline::media
